// The kernel's token buckets against the real Redis: refusal with a retry time, several buckets
// all-or-nothing, forced charges as debt, and many concurrent takers sharing one bucket.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TokenBucket } from '../src/rate-limit.ts';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
afterAll(() => redis.quit());
const prefix = () => `test:${randomUUID()}:`;

describe('TokenBucket', () => {
  it('takes up to the burst, then says how long until the next token', async () => {
    const bucket = new TokenBucket(redis, { prefix: prefix(), perMinute: 60, burst: 3 });
    expect(await bucket.take('a')).toBeNull();
    expect(await bucket.take('a')).toBeNull();
    expect(await bucket.take('a')).toBeNull();
    const wait = await bucket.take('a');
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(1);
    expect(await bucket.take('b')).toBeNull(); // another key, its own bucket
  });

  it('takes from several buckets all or nothing, and reports each one', async () => {
    const bucket = new TokenBucket(redis, { prefix: prefix(), perMinute: 60, burst: 10 });
    const org = { perMinute: 60, burst: 2 };
    const user = { perMinute: 60, burst: 10 };
    const take = () => bucket.takeAll([{ key: 'org', limits: org, tokens: 1 }, { key: 'user', limits: user, tokens: 1 }]);
    expect((await take()).allowed).toBe(true);
    const second = await take();
    expect(second).toMatchObject({ allowed: true, retryAfterSeconds: 0 });
    expect(second.buckets[0]!.remaining).toBe(0);
    expect(second.buckets[1]!.remaining).toBe(8);
    const refused = await take();
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBe(1);
    // The organization refused: the user's bucket kept its token.
    expect(refused.buckets[1]!.remaining).toBe(8);
    expect(refused.buckets[0]!.resetSeconds).toBeGreaterThanOrEqual(1);
  });

  it('charges a forced cost as debt that delays the next take', async () => {
    const bucket = new TokenBucket(redis, { prefix: prefix(), perMinute: 600, burst: 100 });
    const limits = { perMinute: 600, burst: 100 };
    const charged = await bucket.takeAll([{ key: 'cost', limits, tokens: 150 }], true);
    expect(charged.allowed).toBe(false);
    expect(charged.buckets[0]!.remaining).toBe(0);
    const next = await bucket.takeAll([{ key: 'cost', limits, tokens: 1 }]);
    expect(next.allowed).toBe(false);
    // 50 tokens in debt plus the one asked, at 10 a second.
    expect(next.retryAfterSeconds).toBeGreaterThanOrEqual(5);
    expect(next.retryAfterSeconds).toBeLessThanOrEqual(6);
  });

  it('gives no more tokens than the burst to 200 concurrent takers', async () => {
    const bucket = new TokenBucket(redis, { prefix: prefix(), perMinute: 1, burst: 25 });
    const results = await Promise.all(Array.from({ length: 200 }, () => bucket.take('shared')));
    expect(results.filter((r) => r === null)).toHaveLength(25);
  });
});
