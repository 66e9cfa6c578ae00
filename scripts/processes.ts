// Running Lectern processes as children (pnpm dev, benchmarks): prefixed output, readiness
// polling, and stopping them all together.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Children {
  start(name: string, script: string, env: Record<string, string>): ChildProcess;
  stop(): Promise<void>;
  /** Called when a child exits while not stopping. */
  onUnexpectedExit?: (name: string, code: number | null, signal: string | null) => void;
}

export function children(opts: { quiet?: boolean } = {}): Children {
  const list: ChildProcess[] = [];
  let stopping = false;
  const api: Children = {
    start(name, script, env) {
      const child = spawn(process.execPath, [script], { env: { ...process.env, APOLLO_TELEMETRY_DISABLED: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const stream of [child.stdout!, child.stderr!]) {
        stream.setEncoding('utf8');
        let buffer = '';
        stream.on('data', (chunk: string) => {
          buffer += chunk;
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          if (!opts.quiet) for (const line of lines) if (line) process.stdout.write(`${name.padEnd(8)} | ${line}\n`);
        });
      }
      child.on('exit', (code, signal) => {
        if (!stopping) api.onUnexpectedExit?.(name, code, signal);
      });
      list.push(child);
      return child;
    },
    async stop() {
      stopping = true;
      for (const c of list) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await Promise.all(list.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
    },
  };
  return api;
}

export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fetch(url).then((r) => r.ok).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s`);
}
