// BullMQ plumbing shared by producers, the relay and workers: queue names, connections,
// retention and retry policy set in one place, and the Redis checks workers start with.
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { AppError } from './errors.ts';

/** Queue of one consuming context's events. */
export const eventQueueName = (consumer: string) => `events-${consumer}`;

/** BullMQ key prefix from the process's Redis prefix (`lectern:` → `lectern`). */
export const bullPrefix = (redisPrefix: string) => redisPrefix.replace(/:+$/, '') || 'lectern';

export const RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600 },
} as const;

export const MAX_ATTEMPTS = 8;

/** Retries: exponential backoff from 1 s with ±50% jitter (1, 2, 4, … 64 s), then dead letter. */
export const JOB_DEFAULTS: JobsOptions = {
  attempts: MAX_ATTEMPTS,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  ...RETENTION,
};

/** One Queue object per name for a process (producers and the relay), with the job defaults. */
export function queueFactory(connection: Redis, prefix: string, defaultJobOptions: JobsOptions = JOB_DEFAULTS) {
  const queues = new Map<string, Queue>();
  const get = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix, defaultJobOptions });
      q.on('error', () => {});
      queues.set(name, q);
    }
    return q;
  };
  return Object.assign(get, {
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  });
}
export type QueueFactory = ReturnType<typeof queueFactory>;

/** A worker's connection: BullMQ requires blocking commands to wait through reconnects. */
export const workerConnection = (url: string) =>
  // Errors surface through the workers and readiness; ioredis reconnects by itself.
  new Redis(url, { maxRetriesPerRequest: null }).on('error', () => {});

/**
 * A producer connection for the request path: no offline queue and one retry, so a
 * command fails within a moment while Redis is down instead of hanging the request.
 */
export const producerConnection = (url: string) =>
  new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 1000, retryStrategy: (n) => Math.min(n * 100, 1000) }).on('error', () => {});

/** The request path's queues, on a producer connection of their own; close() releases both. */
export function requestQueues(redisUrl: string, redisPrefix: string): { queues: QueueFactory; close(): Promise<void> } {
  const connection = producerConnection(redisUrl);
  const queues = queueFactory(connection, bullPrefix(redisPrefix));
  return {
    queues,
    async close() {
      await queues.close().catch(() => {});
      connection.disconnect();
    },
  };
}

/** Adds a job from the request path, failing within `timeoutMs` when Redis is unavailable. */
export async function enqueueNow<T>(queue: Queue, name: string, data: T, opts: JobsOptions = {}, timeoutMs = 100): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      queue.add(name, data, opts),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
  } catch {
    throw new AppError('INTERNAL_SERVER_ERROR', 'Background work is unavailable right now; try again shortly');
  } finally {
    clearTimeout(timer);
  }
}

/** BullMQ loses jobs when Redis may evict keys: workers refuse to start unless eviction is off. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    // CONFIG may be disabled on managed Redis; INFO still tells.
    const info = await redis.info('memory');
    policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is "${policy ?? 'unknown'}"; workers need "noeviction" (redis-cli CONFIG SET maxmemory-policy noeviction)`);
  }
}
