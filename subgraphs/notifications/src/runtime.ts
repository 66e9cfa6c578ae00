// The worker's process-wide pieces, built once from its dependencies: mail transport, the
// identity directory, digest schedules, and the services handlers and jobs share.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '@lectern/kernel';
import { jobQueueName, type WorkerDeps } from '@lectern/kernel/worker';
import { NOTIFICATIONS } from '@lectern/contracts/notifications';
import type { NotificationsEnv } from './env.ts';
import { DigestService } from './modules/digest/digest.service.ts';
import { DigestSchedules } from './modules/digest/schedules.ts';
import { createMailer, type Mailer } from './modules/email/mailer.ts';
import { DeliveryService } from './modules/inbox/delivery.service.ts';
import { identityDirectory, type Directory } from './modules/people/directory.ts';

export interface NotificationsRuntime {
  env: NotificationsEnv;
  orm: MikroORM;
  log: Logger;
  mailer: Mailer;
  directory: Directory;
  schedules: DigestSchedules;
  delivery: DeliveryService;
  digests: DigestService;
}

const runtimes = new WeakMap<object, NotificationsRuntime>();

/** The runtime of a worker (its handlers, jobs and init get the same deps object). */
export function runtimeOf(deps: WorkerDeps<NotificationsEnv>): NotificationsRuntime {
  let rt = runtimes.get(deps);
  if (!rt) {
    const { env, orm, log } = deps;
    const mailer = createMailer(env);
    const directory = identityDirectory(env);
    rt = {
      env,
      orm,
      log,
      mailer,
      directory,
      schedules: new DigestSchedules(orm, deps.queues(jobQueueName(NOTIFICATIONS)), env.DIGEST_INTERVAL_MINUTES * 60_000),
      delivery: new DeliveryService({ orm, mailer, directory, log }),
      digests: new DigestService({ orm, mailer, directory, log, env }),
    };
    runtimes.set(deps, rt);
  }
  return rt;
}
