// Notifications' process-wide pieces, built once at start through the definitions' `runtime`.
// The subgraph's: the queues the request path reads (operator view) and replays into.
// The worker's: mail transport, the identity directory, catalog's course titles, digest schedules, the publisher of
// new inbox items (notificationAdded, on the worker's Redis client), and the services handlers and jobs share.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '@lectern/kernel';
import { requestQueues, type QueueFactory } from '@lectern/kernel/queues';
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import { jobQueueName, type WorkerDeps } from '@lectern/kernel/worker';
import { NOTIFICATIONS } from '@lectern/contracts/notifications';
import type { NotificationsEnv } from './env.ts';
import { DigestService } from './modules/digest/digest.service.ts';
import { DigestSchedules } from './modules/digest/schedules.ts';
import { createMailer, type Mailer } from './modules/email/mailer.ts';
import { DeliveryService } from './modules/inbox/delivery.service.ts';
import { inboxPublisher } from './modules/inbox/notification-added.ts';
import { catalogCourses, type Courses } from './modules/people/courses.ts';
import { identityDirectory, type Directory } from './modules/people/directory.ts';

export interface SubgraphRuntime {
  /** Fail fast while Redis is down (a producer connection). */
  queues: QueueFactory;
  close(): Promise<void>;
}

export function createSubgraphRuntime({ env }: SubgraphDeps<NotificationsEnv>): SubgraphRuntime {
  return requestQueues(env.REDIS_URL, env.REDIS_PREFIX);
}

export interface WorkerRuntime {
  env: NotificationsEnv;
  orm: MikroORM;
  log: Logger;
  mailer: Mailer;
  directory: Directory;
  courses: Courses;
  schedules: DigestSchedules;
  delivery: DeliveryService;
  digests: DigestService;
}

export function createWorkerRuntime(deps: WorkerDeps<NotificationsEnv>): WorkerRuntime {
  const { env, orm, log } = deps;
  const mailer = createMailer(env);
  const directory = identityDirectory(env);
  return {
    env,
    orm,
    log,
    mailer,
    directory,
    courses: catalogCourses(env),
    schedules: new DigestSchedules(orm, deps.queues(jobQueueName(NOTIFICATIONS)), env.DIGEST_INTERVAL_MINUTES * 60_000),
    delivery: new DeliveryService({ orm, mailer, directory, log, live: inboxPublisher(deps.redis, env.REDIS_PREFIX, log) }),
    digests: new DigestService({ orm, mailer, directory, log, env }),
  };
}
