// The learning worker process: relays learning's outbox to the contexts that consume its events.
// `node subgraphs/learning/src/worker.ts` runs it; importing this file only defines it.
import { mergeRoutes } from '@lectern/kernel/events';
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { loadEnv, type LearningEnv } from './env.ts';
import { entities } from './subgraph.ts';
import { migrations } from './migrations/index.ts';

export const learningWorker: WorkerDefinition<LearningEnv> = {
  name: 'learning',
  entities,
  migrations,
  routes: mergeRoutes(),
};

if (import.meta.main) await runWorker(learningWorker, loadEnv());
