// Retention: what the event backbone and idempotency leave behind is purged on a schedule, so
// the kernel's tables and the queues stay bounded.
//
// What goes, per subgraph schema, once it is older than RETENTION_DAYS (default 14):
//   - outbox rows already published (an unpublished row is never purged, however old);
//   - processed_events rows (an event redelivered after that would be applied again: events
//     are only redelivered within minutes, replays of dead letters within the same period);
//   - dead_letters rows (by their last failure or replay) and the exhausted failed jobs of the
//     worker's BullMQ queues (events-<name>, jobs-<name>, kernel-<name>);
// and idempotency_keys as soon as they have expired (an expired key is never answered again).
//
// Who runs it: every worker process (worker.ts) upserts the same BullMQ job scheduler
// (`retention`, every RETENTION_INTERVAL_MINUTES) on its kernel queue `kernel-<name>`, so one
// purge runs per interval however many replicas there are; the scheduler is re-upserted when
// Redis comes back or lost its data (worker.ts, redis.ts RedisWatch).
// How: rows go through <schema>.kernel_purge (migrations/0003-kernel-retention.ts), a SECURITY
// DEFINER function only the subgraph's runtime role may execute, RETENTION_BATCH_SIZE rows per
// call, each call its own short transaction (no long locks), until a call removes fewer. The
// run logs how many rows and jobs it removed.
//
// Configuration: `retentionEnv` below (RETENTION_DAYS, RETENTION_INTERVAL_MINUTES,
// RETENTION_BATCH_SIZE), part of worker.ts `workerKernelEnv`, which a subgraph adds where it
// parses its environment (`.extend(workerKernelEnv.shape)`); without it the defaults apply.
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from './logger.ts';
import type { MikroORM } from './orm.ts';

export const retentionEnv = z.object({
  /** Days published outbox rows, processed events and dead letters (rows and failed jobs) are kept. */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(14),
  /** How often the worker's purge runs. */
  RETENTION_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(60),
  /** Rows (or jobs) removed per statement: each is a short transaction. */
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export type RetentionEnv = z.infer<typeof retentionEnv>;

/** The retention settings of `env`, defaults for what it does not set. */
export const retentionSettings = (env: Partial<Record<keyof RetentionEnv, unknown>>): RetentionEnv =>
  retentionEnv.parse({ RETENTION_DAYS: env.RETENTION_DAYS, RETENTION_INTERVAL_MINUTES: env.RETENTION_INTERVAL_MINUTES, RETENTION_BATCH_SIZE: env.RETENTION_BATCH_SIZE });

/** The queue of the kernel's own scheduled work for one subgraph (the retention job). */
export const kernelQueueName = (subgraph: string) => `kernel-${subgraph}`;
export const RETENTION_SCHEDULER = 'retention';

export const PURGED_TABLES = ['outbox', 'processed_events', 'dead_letters', 'idempotency_keys'] as const;
export type PurgeCounts = Record<(typeof PURGED_TABLES)[number] | 'failedJobs', number>;

export interface PurgeOptions {
  /** The subgraph's ORM (its runtime role: it may execute kernel_purge). */
  orm: MikroORM;
  schema: string;
  /** The queues whose exhausted failed jobs go too. */
  queues: Queue[];
  days: number;
  batchSize: number;
  log?: Pick<Logger, 'info'>;
}

/** One retention pass; idempotent (a second pass right after removes nothing). */
export async function purgeExpired(opts: PurgeOptions): Promise<PurgeCounts> {
  const counts: PurgeCounts = { outbox: 0, processed_events: 0, dead_letters: 0, idempotency_keys: 0, failedJobs: 0 };
  const em = opts.orm.em.fork();
  for (const table of PURGED_TABLES) {
    for (;;) {
      // Outside any transaction: each call commits on its own.
      const [row] = await em.execute<{ n: number }[]>(`select "${opts.schema}".kernel_purge(?, make_interval(days => ?), ?) as n`, [table, opts.days, opts.batchSize]);
      const n = Number(row?.n ?? 0);
      counts[table] += n;
      if (n < opts.batchSize) break;
    }
  }
  const graceMs = opts.days * 24 * 3600 * 1000;
  for (const q of opts.queues) {
    for (;;) {
      const removed = await q.clean(graceMs, opts.batchSize, 'failed');
      counts.failedJobs += removed.length;
      if (removed.length < opts.batchSize) break;
    }
  }
  opts.log?.info({ schema: opts.schema, removed: counts, olderThanDays: opts.days }, 'retention: purged');
  return counts;
}

/**
 * The retention job of one subgraph's worker: a scheduler on `kernel-<name>` and the worker
 * that runs it. `schedule()` (idempotent) is called at start and again when Redis returns.
 */
export function startRetention(opts: {
  name: string;
  orm: MikroORM;
  queue: (name: string) => Queue;
  /** The worker's queues whose failed jobs are purged (kernel-<name> is added). */
  queueNames: string[];
  connection: Redis;
  prefix: string;
  settings: RetentionEnv;
  log: Logger;
}): { worker: Worker; schedule(): Promise<void>; run(): Promise<PurgeCounts> } {
  const own = kernelQueueName(opts.name);
  const run = () =>
    purgeExpired({
      orm: opts.orm,
      schema: opts.name,
      queues: [...new Set([...opts.queueNames, own])].map((n) => opts.queue(n)),
      days: opts.settings.RETENTION_DAYS,
      batchSize: opts.settings.RETENTION_BATCH_SIZE,
      log: opts.log,
    });
  const worker = new Worker(own, async () => run(), { connection: opts.connection, prefix: opts.prefix, concurrency: 1 });
  let last = 0;
  worker.on('error', (err) => {
    if (Date.now() - last > 10_000) opts.log.warn({ err }, `worker ${own}: ${err.message}`);
    last = Date.now();
  });
  worker.on('failed', (_job, err) => opts.log.warn({ err }, 'retention: purge failed; the next run retries'));
  return {
    worker,
    run,
    async schedule() {
      await opts
        .queue(own)
        .upsertJobScheduler(RETENTION_SCHEDULER, { every: opts.settings.RETENTION_INTERVAL_MINUTES * 60_000 }, { name: RETENTION_SCHEDULER, data: {}, opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } });
    },
  };
}
