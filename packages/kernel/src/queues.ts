// BullMQ plumbing shared by producers, the relay and workers: queue names, connections,
// retention and retry policy set in one place, and the Redis checks workers start with.
//
// Redis outages: BullMQ workers get a `workerConnection` (blocking commands wait through a
// reconnect; ioredis reconnects by itself, so workers resume on their own). Producers (the
// request path, the relay, a worker's own enqueues) get a `producerConnection`: no offline
// queue, one retry, so an enqueue fails at once while Redis is down (the request answers
// SERVICE_UNAVAILABLE, the relay rolls back and retries) instead of hanging. `queueFactory`
// with `failFast` refuses at once while its connection is not ready, even for a queue first
// used during the outage (BullMQ would otherwise wait for Redis), and drops a Queue object
// whose initialisation failed so the next use builds a fresh one: nothing about a queue is
// cached across an outage. BullMQ keeps no other state a producer relies on: after Redis lost
// its data, adding a job recreates the queue's keys (job schedulers are re-upserted by the
// worker's recovery, worker.ts).
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { serviceUnavailable } from './errors.ts';
import { within } from './deadline.ts';

/** Queue of one consuming context's events. */
export const eventQueueName = (consumer: string) => `events-${consumer}`;

/** BullMQ key prefix from the process's Redis prefix (`lectern:` → `lectern`). */
export const bullPrefix = (redisPrefix: string) => redisPrefix.replace(/:+$/, '') || 'lectern';

/**
 * BullMQ's own bound on finished jobs. Exhausted failed jobs are also removed by the worker's
 * retention run after RETENTION_DAYS (retention.ts), whichever comes first; the dead letter an
 * operator replays from is the PostgreSQL row, kept for RETENTION_DAYS.
 */
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

/**
 * One Queue object per name for a process (producers and the relay), with the job defaults.
 * `failFast`: adding a job throws SERVICE_UNAVAILABLE at once while the connection is not ready.
 */
export function queueFactory(connection: Redis, prefix: string, defaultJobOptions: JobsOptions = JOB_DEFAULTS, opts: { failFast?: boolean } = {}) {
  const queues = new Map<string, Queue>();
  const get = (name: string): Queue => {
    const cached = queues.get(name);
    if (cached) return cached;
    const options = { connection, prefix, defaultJobOptions };
    const created = opts.failFast ? new FailFastQueue(name, options) : new Queue(name, options);
    created.on('error', () => {});
    // A Queue whose initialisation failed (the connection dropped while it started) stays
    // broken: forget it, so the next call builds a fresh one.
    created.waitUntilReady().catch(() => {
      if (queues.get(name) === created) queues.delete(name);
      void created.close().catch(() => {});
    });
    queues.set(name, created);
    return created;
  };
  return Object.assign(get, {
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
    },
  });
}

export type QueueFactory = ReturnType<typeof queueFactory>;

/** Connections that have been ready once: before that, a producer waits for them a moment. */
const everReady = new WeakSet<Redis>();
const STARTING_WAIT_MS = 1000;

/** Resolves when `q`'s connection is ready; throws SERVICE_UNAVAILABLE at once when it is down. */
async function ready(q: Queue): Promise<void> {
  const connection = q.opts.connection as Redis;
  if (connection.status === 'ready') {
    everReady.add(connection);
    return;
  }
  const starting = !everReady.has(connection) && (connection.status === 'connecting' || connection.status === 'connect' || connection.status === 'wait');
  if (starting) {
    // A process's first enqueue may come while its connection is still being made.
    let timer: NodeJS.Timeout | undefined;
    let onReady: (() => void) | undefined;
    const up = await new Promise<boolean>((resolve) => {
      onReady = () => resolve(true);
      connection.once('ready', onReady);
      timer = setTimeout(() => resolve(false), STARTING_WAIT_MS);
    });
    clearTimeout(timer);
    connection.off('ready', onReady!);
    if (up) {
      everReady.add(connection);
      return;
    }
  }
  throw serviceUnavailable('Background work', 2);
}

/** A connection failure of `q` (not a Redis reply error) as SERVICE_UNAVAILABLE; anything else as is. */
function unavailable(q: Queue, err: unknown): unknown {
  const connection = q.opts.connection as Redis;
  const name = (err as Error | undefined)?.name;
  if (name === 'ReplyError') return err;
  if (connection.status !== 'ready' || name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable/.test(String((err as Error | undefined)?.message))) {
    const e = serviceUnavailable('Background work', 2);
    (e as { cause?: unknown }).cause = err;
    return e;
  }
  return err;
}

/** A Queue that refuses new jobs at once while its connection is down (see the header). */
class FailFastQueue extends Queue {
  override async add(...args: Parameters<Queue['add']>): ReturnType<Queue['add']> {
    await ready(this);
    return super.add(...args).catch((err: unknown) => {
      throw unavailable(this, err);
    });
  }

  override async addBulk(...args: Parameters<Queue['addBulk']>): ReturnType<Queue['addBulk']> {
    await ready(this);
    return super.addBulk(...args).catch((err: unknown) => {
      throw unavailable(this, err);
    });
  }
}

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
  const queues = queueFactory(connection, bullPrefix(redisPrefix), JOB_DEFAULTS, { failFast: true });
  return {
    queues,
    async close() {
      await queues.close().catch(() => {});
      connection.disconnect();
    },
  };
}

/** Adds a job from the request path, failing within `timeoutMs` (SERVICE_UNAVAILABLE) when Redis is unavailable. */
export async function enqueueNow<T>(queue: Queue, name: string, data: T, opts: JobsOptions = {}, timeoutMs = 100): Promise<void> {
  try {
    await within(timeoutMs, () => queue.add(name, data, opts), 'timeout');
  } catch {
    throw serviceUnavailable('Background work', 2);
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
