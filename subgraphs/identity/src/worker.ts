// The identity worker process: relays identity's outbox to the contexts that consume its events.
import { routes } from '@lectern/contracts/subscriptions';
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { loadWorkerEnv, type IdentityWorkerEnv } from './env.ts';
import { entities } from './subgraph.ts';
import { migrations } from './migrations/index.ts';

export const identityWorker: WorkerDefinition<IdentityWorkerEnv> = {
  name: 'identity',
  entities,
  migrations,
  // Whoever subscribes to its events (declared by the consumers in @lectern/contracts).
  routes,
};

if (import.meta.main) await runWorker(identityWorker, loadWorkerEnv());
