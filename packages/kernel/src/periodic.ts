// A periodic task of a worker process (a sweep that re-queues what Redis lost, a reconciliation):
// `run` every `intervalMs`, never two at once, on an unref'd timer (it never keeps the process
// alive). A failure is logged once, and again only when the task recovers; `failing` is what
// readiness reports meanwhile. `run` gets `stopping()` to end a long pass early when the
// process shuts down; stop() waits for a pass in flight at most `stopWaitMs` (one blocked on a
// dependency that is down is not waited for: its connection closes under it).
import type { Logger } from './logger.ts';

export interface Periodic {
  /** One pass now (also what the timer runs); resolves to what `run` answers. */
  run(): Promise<number>;
  /** Whether the last timed pass failed. */
  readonly failing: boolean;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export function periodic(name: string, log: Logger, run: (stopping: () => boolean) => Promise<number>, opts: { stopWaitMs?: number } = {}): Periodic {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let failing = false;
  let stopped = false;
  const pass = () => run(() => stopped);
  return {
    run: pass,
    get failing() {
      return failing;
    },
    start(intervalMs) {
      stopped = false;
      clearInterval(timer);
      timer = setInterval(() => {
        running ??= pass()
          .then(() => {
            if (failing) log.info(`${name} recovered`);
            failing = false;
          })
          .catch((err: unknown) => {
            if (!failing && !stopped) log.warn({ err }, `${name} failed; retrying`);
            failing = true;
          })
          .finally(() => (running = undefined));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.race([running, new Promise((r) => setTimeout(r, opts.stopWaitMs ?? 1000).unref())]);
    },
  };
}
