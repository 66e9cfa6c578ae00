// Rate limits as token buckets in Redis: a bucket per key, refilled at `perMinute` tokens and
// holding at most `burst`. One Lua script takes a token (or says how long until one is there)
// atomically, on Redis's own clock, so every replica shares one bucket and no two requests both
// take the last token. Live limits chat per (organization, session, person) with it;
// certification limits its public verifier per client address.
import type { Redis } from 'ioredis';

// KEYS: the bucket. ARGV: tokens per ms, burst. Returns 0 when a token was taken, else the ms until one is there.
const TAKE = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('hmget', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then tokens = burst ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('hset', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('pexpire', KEYS[1], math.ceil(burst / rate) + 1000)
return wait`;

type BucketRedis = Redis & { lecternTakeToken(key: string, rate: number, burst: number): Promise<number> };

export class TokenBucket {
  #redis: BucketRedis;
  #prefix: string;
  #perMs: number;
  #burst: number;

  /** Buckets under the key `prefix` (e.g. `live:chat-bucket:`), `perMinute` tokens refilled, at most `burst`. */
  constructor(redis: Redis, opts: { prefix: string; perMinute: number; burst: number }) {
    if (!('lecternTakeToken' in redis)) redis.defineCommand('lecternTakeToken', { numberOfKeys: 1, lua: TAKE });
    this.#redis = redis as BucketRedis;
    this.#prefix = opts.prefix;
    this.#perMs = opts.perMinute / 60_000;
    this.#burst = opts.burst;
  }

  /** Takes a token from `key`'s bucket; null when taken, else the whole seconds to wait for one. */
  async take(key: string): Promise<number | null> {
    const waitMs = await this.#redis.lecternTakeToken(`${this.#prefix}${key}`, this.#perMs, this.#burst);
    return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : null;
  }
}
