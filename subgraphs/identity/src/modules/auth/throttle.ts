// Login throttling in Redis: failures per account and attempts per client IP, each in a
// fixed window. Redis down means logins are refused rather than left unthrottled.
import { createHash } from 'node:crypto';
import type { Redis } from '@lectern/kernel/redis';
import { AppError, rateLimited } from '@lectern/kernel';

export interface ThrottleLimits {
  maxFailuresPerAccount: number;
  maxAttemptsPerIp: number;
  windowSeconds: number;
}

const accountKey = (email: string) => `login:fail:${createHash('sha256').update(email).digest('hex').slice(0, 32)}`;
const ipKey = (ip: string) => `login:ip:${ip}`;

export class LoginThrottle {
  #redis: Redis;
  #limits: ThrottleLimits;
  constructor(redis: Redis, limits: ThrottleLimits) {
    this.#redis = redis;
    this.#limits = limits;
  }

  /** Counts this attempt against the IP and refuses when the IP or the account is over its limit. */
  async check(email: string, ip: string | null): Promise<void> {
    try {
      const pipeline = this.#redis.multi();
      if (ip) pipeline.incr(ipKey(ip)).expire(ipKey(ip), this.#limits.windowSeconds, 'NX').ttl(ipKey(ip));
      pipeline.get(accountKey(email)).ttl(accountKey(email));
      const results = (await pipeline.exec()) ?? [];
      const values = results.map(([err, v]) => {
        if (err) throw err;
        return v;
      });
      if (ip) {
        const [count, , ttl] = values as [number, unknown, number];
        if (count > this.#limits.maxAttemptsPerIp) {
          throw rateLimited('Too many sign-in attempts from this address; try again later', Math.max(ttl, 1));
        }
      }
      const [failures, accountTtl] = values.slice(ip ? 3 : 0) as [string | null, number];
      if (Number(failures ?? 0) >= this.#limits.maxFailuresPerAccount) {
        throw rateLimited('Too many failed sign-ins for this account; try again later', Math.max(accountTtl, 1));
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('INTERNAL_SERVER_ERROR', 'Sign-in is temporarily unavailable; try again shortly');
    }
  }

  async failed(email: string): Promise<void> {
    await this.#redis.multi().incr(accountKey(email)).expire(accountKey(email), this.#limits.windowSeconds, 'NX').exec();
  }

  async succeeded(email: string): Promise<void> {
    await this.#redis.del(accountKey(email));
  }
}
