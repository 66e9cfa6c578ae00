// What the rest of the repository may start or wire up: the subgraph, its worker, migrations
// and entities (scripts run them; tests start them in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { LiveEnv } from './env.ts';
import type { SubgraphRuntime } from './runtime.ts';
import { live } from './subgraph.ts';
import { liveWorker } from './worker.ts';

/** Starts the live subgraph (in-process for tests; main.ts for the real process). */
export function startLive(env: LiveEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<LiveEnv, SubgraphRuntime>> {
  return startSubgraph(live, env, opts);
}

/** Starts the live worker (outbox relay, roster projection). */
export function startLiveWorker(env: LiveEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<LiveEnv, void>> {
  return startWorker(liveWorker, env, opts);
}

export { live, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type LiveEnv } from './env.ts';
