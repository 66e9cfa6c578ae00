// What the rest of the repository may start or wire up: the subgraph, its worker, migrations
// and entities (scripts run them; tests start them in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { LearningEnv } from './env.ts';
import type { SubgraphRuntime, WorkerRuntime } from './runtime.ts';
import { learning } from './subgraph.ts';
import { learningWorker } from './worker.ts';

/** Starts the learning subgraph (in-process for tests; main.ts for the real process). */
export function startLearning(env: LearningEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<LearningEnv, SubgraphRuntime>> {
  return startSubgraph(learning, env, opts);
}

/** Starts the learning worker (projection consumer, heartbeat flusher, outbox relay). */
export function startLearningWorker(env: LearningEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<LearningEnv, WorkerRuntime>> {
  return startWorker(learningWorker, env, opts);
}

export { learning, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type LearningEnv } from './env.ts';
export { learningWorker } from './worker.ts';
