// Runs ffmpeg and ffprobe as child processes, the one way the pipeline starts them: spawned with an
// argument list (never a shell string), stdin closed, stderr kept only as its last lines (a long
// transcode logs a lot; an error message needs the end), stdout either collected (ffprobe's JSON)
// or handed over line by line (ffmpeg's `-progress pipe:1`). An AbortSignal or a timeout kills the
// process with SIGKILL, and the promise settles only once the process is gone, so a caller that
// sees the rejection knows nothing is left running.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Aborting kills the process; the promise then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Kill the process and reject when it runs longer than this. */
  timeoutMs?: number;
  /** Each complete stdout line (without its newline). When given, stdout is not collected. If it
   *  throws, the process is killed and the run rejects with what it threw. */
  onStdoutLine?: (line: string) => void;
}

export interface RunResult {
  /** Everything the process wrote to stdout (empty when onStdoutLine was given). */
  stdout: string;
}

/** A tool that exited with a non-zero code: the message ends with its last stderr lines. */
export class ToolFailedError extends Error {
  readonly tool: string;
  readonly exitCode: number | null;
  /** The last non-empty lines the tool wrote to stderr (at most STDERR_TAIL_LINES). */
  readonly stderrTail: string[];
  constructor(tool: string, exitCode: number | null, exitSignal: string | null, stderrTail: string[]) {
    const how = exitCode !== null ? `exit code ${exitCode}` : `killed by ${exitSignal ?? 'a signal'}`;
    const tail = stderrTail.length > 0 ? `:\n${stderrTail.join('\n')}` : ' (it wrote nothing to stderr)';
    super(`${tool} failed (${how})${tail}`);
    this.name = 'ToolFailedError';
    this.tool = tool;
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }
}

/** How many stderr lines a failure keeps. */
export const STDERR_TAIL_LINES = 12;
/** stderr bytes kept while running (enough for the tail lines, however long the log gets). */
const STDERR_KEEP_CHARS = 16_384;
/** A single stderr line longer than this is cut (a binary dump should not become an error message). */
const MAX_LINE_CHARS = 400;

/** The error an aborted run rejects with: name 'AbortError', the signal's reason as its cause. */
export function abortError(what: string, signal: AbortSignal): Error {
  const error = new Error(`${what} was aborted`, { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}

/** Runs `tool args...` to completion; resolves on exit code 0, rejects otherwise (see the header). */
export function runTool(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { signal, timeoutMs, onStdoutLine } = opts;
  if (signal?.aborted) return Promise.reject(abortError(tool, signal));

  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stdoutPartial = '';
    let stderr = '';
    /** Why we killed the process, if we did: decides what the promise rejects with. */
    let killedFor: Error | null = null;
    let settled = false;

    const kill = (reason: Error): void => {
      if (killedFor === null) killedFor = reason;
      child.kill('SIGKILL');
    };
    const onAbort = (): void => kill(abortError(tool, signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      timeoutMs !== undefined
        ? setTimeout(() => kill(new Error(`${tool} timed out after ${formatSeconds(timeoutMs)} and was killed`)), timeoutMs)
        : undefined;

    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve({ stdout });
    };

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (!onStdoutLine) {
        stdout += chunk;
        return;
      }
      const lines = (stdoutPartial + chunk).split('\n');
      stdoutPartial = lines.pop() ?? '';
      try {
        for (const line of lines) onStdoutLine(line.replace(/\r$/, ''));
      } catch (error) {
        // A throwing line handler is the caller's bug: stop the tool and report it.
        kill(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 2 * STDERR_KEEP_CHARS) stderr = stderr.slice(-STDERR_KEEP_CHARS);
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only a failed start lands here in practice (ENOENT: the tool is not installed).
      if (child.pid === undefined) {
        const hint = error.code === 'ENOENT' ? ` (is ${tool} installed and on PATH?)` : '';
        finish(new Error(`could not start ${tool}: ${error.message}${hint}`));
      }
    });
    // 'close' comes after the process exited AND its pipes are drained: the whole output was read.
    child.on('close', (code, exitSignal) => {
      if (onStdoutLine && stdoutPartial !== '' && killedFor === null) {
        try {
          onStdoutLine(stdoutPartial);
        } catch (error) {
          killedFor = error instanceof Error ? error : new Error(String(error));
        }
      }
      if (killedFor) finish(killedFor);
      else if (code === 0) finish(null);
      else finish(new ToolFailedError(tool, code, exitSignal, lastLines(stderr, STDERR_TAIL_LINES)));
    });
  });
}

/** The last `count` non-empty lines of a log, each cut to a readable length. */
export function lastLines(text: string, count: number): string[] {
  return text
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-count)
    .map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line));
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
