// The per-person chat rate limit: a token bucket in Redis per (organization, session, person),
// refilled at CHAT_RATE_PER_MINUTE and holding at most CHAT_BURST tokens. One Lua script takes
// a token (or says how long until one is there) atomically, on Redis's own clock, so every
// replica shares one bucket and no two requests both take the last token.
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

type BucketRedis = Redis & { liveTakeToken(key: string, rate: number, burst: number): Promise<number> };

export class ChatRateLimiter {
  #redis: BucketRedis;
  #perMs: number;
  #burst: number;

  constructor(redis: Redis, opts: { perMinute: number; burst: number }) {
    if (!('liveTakeToken' in redis)) redis.defineCommand('liveTakeToken', { numberOfKeys: 1, lua: TAKE });
    this.#redis = redis as BucketRedis;
    this.#perMs = opts.perMinute / 60_000;
    this.#burst = opts.burst;
  }

  /** Takes a token for this person's next message; null when taken, else the seconds to wait. */
  async take(tenantId: string, sessionId: string, userId: string): Promise<number | null> {
    const waitMs = await this.#redis.liveTakeToken(`live:chat-bucket:${tenantId}:${sessionId}:${userId}`, this.#perMs, this.#burst);
    return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : null;
  }
}
