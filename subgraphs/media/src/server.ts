// What the rest of the repository may start or wire up: the subgraph, its worker, migrations
// and entities (scripts run them; tests start them in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { MediaEnv } from './env.ts';
import type { SubgraphRuntime } from './runtime.ts';
import { media } from './subgraph.ts';
import { mediaWorker, type WorkerRuntime } from './worker.ts';

/** Starts the media subgraph (in-process for tests; main.ts for the real process). */
export async function startMedia(env: MediaEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<MediaEnv, SubgraphRuntime>> {
  const running = await startSubgraph(media, env, opts);
  if (!running.runtime.origin.value) running.runtime.origin.value = new URL(running.url).origin;
  return running;
}

/** Starts the media worker (outbox relay, published-videos projection, transcode and purge jobs, sweep). */
export function startMediaWorker(env: MediaEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<MediaEnv, WorkerRuntime>> {
  return startWorker(mediaWorker(env), env, opts);
}

export { media, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type MediaEnv } from './env.ts';
