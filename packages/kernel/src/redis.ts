import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * A Redis client for the request path: commands fail fast while Redis is down
 * (no offline queue, one retry), so a request never hangs on it.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
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
