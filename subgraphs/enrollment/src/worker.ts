// The enrollment worker process: relays enrollment's outbox to the contexts that consume its events.
// `node subgraphs/enrollment/src/worker.ts` runs it; importing this file only defines it.
import { mergeRoutes } from '@lectern/kernel/events';
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { loadEnv, type EnrollmentEnv } from './env.ts';
import { entities } from './subgraph.ts';
import { migrations } from './migrations/index.ts';

export const enrollmentWorker: WorkerDefinition<EnrollmentEnv> = {
  name: 'enrollment',
  entities,
  migrations,
  routes: mergeRoutes(),
};

if (import.meta.main) await runWorker(enrollmentWorker, loadEnv());
