// Redis clients of the request path, and how a process notices Redis going away and coming back.
//
// Failing fast: `createRedis` is the client subgraphs (and workers, for their own keys) use. It
// has no offline queue and one retry per command, so while Redis is down a command fails at
// once instead of waiting for a reconnect; `commandTimeout` bounds a command on a connection
// that is open but not answering. ioredis reconnects by itself (every 200 ms … 2 s). Such
// failures reach clients as SERVICE_UNAVAILABLE with `retryAfterSeconds` (errors.ts
// `makeFormatError` recognises ioredis's connection errors; resolvers need not catch them), and
// `/readyz` reports `"redis": "down"` (`redisReadiness`).
//
// Recovery: `RedisWatch` asks Redis once a second for a per-process marker key
// (`<REDIS_PREFIX>kernel:alive:<name>:<uuid>`, refreshed with SET … GET EX 120, one round trip;
// it expires two minutes after its process stops). An error means Redis is down; the first answer after that means it is back
// (`reconnected`); an answer without the marker means Redis lost its data (restarted empty,
// flushed, failed over to an empty replica: `data-lost`). Either way the watch runs its
// `onRecovered` handlers, in order, and keeps retrying them every tick until they all succeed.
// Handlers must be idempotent: re-create what lived only in Redis (BullMQ job schedulers,
// stream consumer groups), re-enqueue work accepted while Redis was away. The worker host
// (worker.ts) runs one watch and exposes it to subgraph workers as `deps.redisWatch` and the
// `WorkerDefinition.redisRecovered` hook.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Logger } from './logger.ts';

export type { Redis };

/** Worker settings of the recovery (worker.ts adds them to `workerKernelEnv`). */
export const recoveryEnv = z.object({
  /**
   * After Redis lost its data, the worker's relay delivers again the events it published in
   * this many minutes before (their jobs may not have run yet); consumers apply each once.
   */
  REDIS_LOSS_REPLAY_MINUTES: z.coerce.number().int().min(0).max(7 * 24 * 60).default(60),
});
export type RecoveryEnv = z.infer<typeof recoveryEnv>;

/**
 * A Redis client for the request path: commands fail fast while Redis is down
 * (no offline queue, one retry, a 5 s command timeout), so a request never hangs on it.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...opts,
  });
  redis.on('error', () => {
    // Reported by readiness checks and the failing command; the client reconnects by itself.
  });
  return redis;
}

/** Resolves once the client is connected, or rejects with a one-line hint. */
export async function waitForRedis(redis: Redis, url: string, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis is not answering at ${url}: start it (e.g. redis-server --daemonize yes) or set REDIS_URL`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** A readiness check: resolves when `redis` answers, throws `down` when it does not. */
export const redisReadiness = (redis: Redis) => async () => {
  try {
    await redis.ping();
  } catch {
    throw new Error('down');
  }
};

export type RecoveryReason = 'reconnected' | 'data-lost';
export type RecoveryHandler = (reason: RecoveryReason) => Promise<void> | void;

export interface RedisWatchOptions {
  /** Key of this process's marker (give it the process's Redis prefix); a random suffix is added. */
  key: string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How often Redis is asked (default 1000 ms). */
  intervalMs?: number;
}

/** Notices Redis going down, coming back and losing its data; runs the recovery handlers. */
export class RedisWatch {
  #redis: Redis;
  #o: Required<RedisWatchOptions>;
  #handlers: RecoveryHandler[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #state: 'starting' | 'up' | 'down' = 'starting';
  /** A recovery whose handlers have not all succeeded yet. */
  #owed: RecoveryReason | undefined;
  /** Recoveries completed (tests wait on it). */
  recoveries = 0;

  constructor(redis: Redis, opts: RedisWatchOptions) {
    this.#redis = redis;
    this.#o = { intervalMs: 1000, ...opts, key: `${opts.key}:${randomUUID()}` };
  }

  /** 'up' once Redis answered, 'down' while it does not. */
  get state(): 'starting' | 'up' | 'down' {
    return this.#state;
  }

  /** Runs `fn` each time Redis is back (or lost its data); returns a function that removes it. */
  onRecovered(fn: RecoveryHandler): () => void {
    this.#handlers.push(fn);
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== fn);
    };
  }

  /** Sets the marker (Redis must be up), then checks every interval. */
  async start(): Promise<void> {
    await this.#mark();
    this.#state = 'up';
    this.#timer = setInterval(() => {
      this.#ticking ??= this.check().finally(() => (this.#ticking = undefined));
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** One check (the timer calls it; tests may too). */
  async check(): Promise<void> {
    let existed: boolean;
    try {
      existed = await this.#mark();
    } catch (err) {
      if (this.#state !== 'down') this.#o.log.warn({ err }, 'Redis is not answering; waiting for it to come back');
      this.#state = 'down';
      this.#owed ??= 'reconnected';
      return;
    }
    this.#state = 'up';
    if (!existed) this.#owed = 'data-lost';
    const reason = this.#owed;
    if (!reason) return;
    this.#o.log.info({ reason }, reason === 'data-lost' ? 'Redis lost its data; recreating what lived there' : 'Redis is back; recovering');
    try {
      for (const h of this.#handlers) await h(reason);
      if (this.#owed === reason) this.#owed = undefined;
      this.recoveries++;
    } catch (err) {
      this.#o.log.error({ err, reason }, 'recovery after Redis came back failed; retrying');
    }
  }

  /** The marker's previous value existed (one round trip: SET … GET). */
  async #mark(): Promise<boolean> {
    const previous = await this.#redis.set(this.#o.key, '1', 'EX', 120, 'GET');
    return previous !== null;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#ticking;
    await this.#redis.del(this.#o.key).catch(() => {});
  }
}
