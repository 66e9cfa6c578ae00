// The identity worker process: relays identity's outbox to the contexts that consume its events.
import { mergeRoutes } from '@lectern/kernel/events';
import { subscriptions as notifications } from '@lectern/notifications/contract';
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { loadWorkerEnv, type IdentityWorkerEnv } from './env.ts';
import { entities } from './subgraph.ts';
import { migrations } from './migrations/index.ts';

export const identityWorker: WorkerDefinition<IdentityWorkerEnv> = {
  name: 'identity',
  entities,
  migrations,
  // Consumers subscribe in their contracts; each new consumer is merged in here.
  routes: mergeRoutes(notifications),
};

if (import.meta.main) await runWorker(identityWorker, loadWorkerEnv());
