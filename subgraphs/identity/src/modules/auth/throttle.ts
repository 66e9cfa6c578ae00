// Login throttling in Redis: failures per account and attempts per client IP, each in a
// fixed window. Redis down means sign-ins are refused (SERVICE_UNAVAILABLE, retry shortly)
// rather than left unthrottled.
import { createHash } from 'node:crypto';
import type { Redis } from '@lectern/kernel/redis';
import { serviceUnavailable } from '@lectern/kernel';

export interface ThrottleLimits {
  maxFailuresPerAccount: number;
  maxAttemptsPerIp: number;
  windowSeconds: number;
}

/** Why an attempt is refused, and when another may succeed. */
export interface Throttled {
  retryAfterSeconds: number;
  message: string;
}

const accountKey = (email: string) => `login:fail:${createHash('sha256').update(email).digest('hex').slice(0, 32)}`;
const ipKey = (ip: string) => `login:ip:${ip}`;
const unavailable = () => serviceUnavailable('Sign-in');

export class LoginThrottle {
  #redis: Redis;
  #limits: ThrottleLimits;
  constructor(redis: Redis, limits: ThrottleLimits) {
    this.#redis = redis;
    this.#limits = limits;
  }

  /** Counts this attempt against the IP; null when it may proceed, else why not and for how long. */
  async check(email: string, ip: string | null): Promise<Throttled | null> {
    let values: unknown[];
    try {
      const pipeline = this.#redis.multi();
      if (ip) pipeline.incr(ipKey(ip)).expire(ipKey(ip), this.#limits.windowSeconds, 'NX').ttl(ipKey(ip));
      pipeline.get(accountKey(email)).ttl(accountKey(email));
      const results = (await pipeline.exec()) ?? [];
      values = results.map(([err, v]) => {
        if (err) throw err;
        return v;
      });
    } catch {
      throw unavailable();
    }
    if (ip) {
      const [count, , ttl] = values as [number, unknown, number];
      if (count > this.#limits.maxAttemptsPerIp) return { retryAfterSeconds: Math.max(ttl, 1), message: 'Too many sign-in attempts from this address' };
    }
    const [failures, accountTtl] = values.slice(ip ? 3 : 0) as [string | null, number];
    if (Number(failures ?? 0) >= this.#limits.maxFailuresPerAccount) {
      return { retryAfterSeconds: Math.max(accountTtl, 1), message: 'Too many failed sign-ins for this account' };
    }
    return null;
  }

  async failed(email: string): Promise<void> {
    await this.#redis.multi().incr(accountKey(email)).expire(accountKey(email), this.#limits.windowSeconds, 'NX').exec().catch(() => {
      throw unavailable();
    });
  }

  async succeeded(email: string): Promise<void> {
    await this.#redis.del(accountKey(email)).catch(() => {
      throw unavailable();
    });
  }
}
