// The notifications worker: consumes events-notifications (identity's and catalog's events),
// runs jobs-notifications (send-digests, per organization on a job scheduler) and relays this
// schema's outbox (it emits nothing yet). `node subgraphs/notifications/src/worker.ts` runs it;
// importing this file only defines it.
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { NOTIFICATIONS } from '@lectern/contracts/notifications';
import { routes } from '@lectern/contracts/subscriptions';
import { loadEnv, type NotificationsEnv } from './env.ts';
import { entities } from './subgraph.ts';
import { migrations } from './migrations/index.ts';
import { sendDigestsJob } from './modules/digest/digest.job.ts';
import { eventHandlers } from './modules/events/events.handlers.ts';
import { createWorkerRuntime, type WorkerRuntime } from './runtime.ts';

export const notificationsWorker: WorkerDefinition<NotificationsEnv, WorkerRuntime> = {
  name: NOTIFICATIONS,
  entities,
  migrations,
  // notifications emits no events yet; when it does, its subscribers are already in `routes`.
  routes,
  runtime: createWorkerRuntime,
  handlers: (_deps, rt) => eventHandlers(rt),
  jobs: (_deps, rt) => [sendDigestsJob(rt.digests)],
  async init(deps, rt) {
    const restored = await rt.schedules.restoreAll();
    deps.log.info({ organizations: restored, mail: rt.mailer.target, everyMinutes: deps.env.DIGEST_INTERVAL_MINUTES }, 'digest schedules restored');
  },
  // Digest schedules live in Redis: after Redis lost its data they are recreated (idempotent:
  // one scheduler per organization, upserted).
  async redisRecovered(deps, rt, reason) {
    if (reason !== 'data-lost') return;
    const restored = await rt.schedules.restoreAll();
    deps.log.info({ organizations: restored }, 'digest schedules restored after Redis lost its data');
  },
};

if (import.meta.main) await runWorker(notificationsWorker, loadEnv());
