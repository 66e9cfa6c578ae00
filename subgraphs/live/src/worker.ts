// The live worker process: relays live's outbox (AttendanceRecorded) to the contexts that
// subscribe to it, and consumes enrollment's roster events (events-live) into the roster
// projection that decides who may join a session.
// `node subgraphs/live/src/worker.ts` runs it; importing this file only defines it.
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { LIVE } from '@lectern/contracts/live';
import { routes } from '@lectern/contracts/subscriptions';
import { loadEnv, type LiveEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { entities } from './modules/session/session.entity.ts';
import { rosterHandlers } from './modules/roster/roster.handlers.ts';

export const liveWorker: WorkerDefinition<LiveEnv> = {
  name: LIVE,
  entities,
  migrations,
  routes,
  handlers: () => rosterHandlers(),
};

if (import.meta.main) await runWorker(liveWorker, loadEnv());
