// What the rest of the repository may start or wire up: the subgraph and its migrations and
// entities (scripts run them; tests start it in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import type { LearningEnv } from './env.ts';
import { learning } from './subgraph.ts';

/** Starts the learning subgraph (in-process for tests; main.ts for the real process). */
export function startLearning(env: LearningEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<LearningEnv>> {
  return startSubgraph(learning, env, opts);
}

export { learning, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type LearningEnv } from './env.ts';
export { startLearningWorker } from './worker.ts';
