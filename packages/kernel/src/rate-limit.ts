// Rate limits as token buckets in Redis: a bucket per key, refilled at `perMinute` tokens and
// holding at most `burst`. One Lua script takes tokens from one or several buckets (or says how
// long until they are there) atomically, on Redis's own clock, so every replica shares the
// buckets and no two requests both take the last token. Several buckets are all-or-nothing: a
// request the organization's bucket refuses takes nothing from its user's.
// Live limits chat per (organization, session, person) with it; certification limits its public
// verifier per client address; the gateway limits requests per organization and per user, and
// charges each operation's cost to its organization's budget.
import type { Redis } from 'ioredis';

// KEYS: the buckets. ARGV[1]: '1' to take even when there are not enough (a debt the refill
// repays, at most one burst deep); then per bucket: tokens per ms, burst, tokens to take.
// Returns { ms until every bucket has its tokens (0: taken), then per bucket: tokens left
// (floored, ≥ 0), ms until it is full again }.
const TAKE = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local force = ARGV[1] == '1'
local n = #KEYS
local rate, burst, want, tokens = {}, {}, {}, {}
local wait = 0
for i = 1, n do
  rate[i] = tonumber(ARGV[i * 3 - 1])
  burst[i] = tonumber(ARGV[i * 3])
  want[i] = tonumber(ARGV[i * 3 + 1])
  local b = redis.call('hmget', KEYS[i], 'tokens', 'ts')
  local have = tonumber(b[1])
  local ts = tonumber(b[2])
  if have == nil or ts == nil then have = burst[i] ts = now end
  tokens[i] = math.min(burst[i], have + math.max(0, now - ts) * rate[i])
  if tokens[i] < want[i] then wait = math.max(wait, 1, math.ceil((math.min(want[i], burst[i]) - tokens[i]) / rate[i])) end
end
local out = { wait }
for i = 1, n do
  if wait == 0 or force then tokens[i] = math.max(-burst[i], tokens[i] - want[i]) end
  redis.call('hset', KEYS[i], 'tokens', tostring(tokens[i]), 'ts', tostring(now))
  redis.call('pexpire', KEYS[i], math.ceil((burst[i] - tokens[i]) / rate[i]) + 1000)
  out[#out + 1] = math.max(0, math.floor(tokens[i]))
  out[#out + 1] = math.ceil((burst[i] - tokens[i]) / rate[i])
end
return out`;

type BucketRedis = Redis & { lecternTakeTokens(keys: number, ...args: (string | number)[]): Promise<number[]> };

/** A bucket's limits: `perMinute` tokens refilled, at most `burst` held. */
export interface BucketLimits {
  perMinute: number;
  burst: number;
}

/** One bucket of a take: its key (under the bucket's prefix), limits and the tokens to take (0 only looks). */
export interface BucketTake {
  key: string;
  limits: BucketLimits;
  tokens: number;
}

/** What a take found: whether it took, and when (whole seconds) it is worth retrying. */
export interface TakeResult {
  allowed: boolean;
  /** Seconds until the asked tokens are there (0 when taken), and the same in milliseconds. */
  retryAfterSeconds: number;
  retryAfterMs: number;
  /** Per bucket, in the order asked: tokens left and the seconds until it is full again. */
  buckets: { remaining: number; resetSeconds: number }[];
}

export class TokenBucket {
  #redis: BucketRedis;
  #prefix: string;
  #limits: BucketLimits;

  /** Buckets under the key `prefix` (e.g. `live:chat-bucket:`), by default `perMinute` tokens refilled, at most `burst`. */
  constructor(redis: Redis, opts: { prefix: string } & BucketLimits) {
    if (!('lecternTakeTokens' in redis)) redis.defineCommand('lecternTakeTokens', { lua: TAKE });
    this.#redis = redis as BucketRedis;
    this.#prefix = opts.prefix;
    this.#limits = { perMinute: opts.perMinute, burst: opts.burst };
  }

  /** Takes a token from `key`'s bucket; null when taken, else the whole seconds to wait for one. */
  async take(key: string): Promise<number | null> {
    const r = await this.takeAll([{ key, limits: this.#limits, tokens: 1 }]);
    return r.allowed ? null : r.retryAfterSeconds;
  }

  /**
   * Takes each bucket's tokens, all or none. With `force` they are taken even when not all are
   * there (a cost known only afterwards is charged whole; the debt delays the next `allowed`).
   */
  async takeAll(takes: BucketTake[], force = false): Promise<TakeResult> {
    const args: (string | number)[] = [takes.length, ...takes.map((t) => `${this.#prefix}${t.key}`), force ? '1' : '0'];
    for (const t of takes) args.push(t.limits.perMinute / 60_000, t.limits.burst, t.tokens);
    const [waitMs, ...rest] = await this.#redis.lecternTakeTokens(...(args as [number, ...(string | number)[]]));
    const buckets = takes.map((_, i) => ({ remaining: rest[i * 2]!, resetSeconds: Math.ceil(rest[i * 2 + 1]! / 1000) }));
    return { allowed: waitMs === 0, retryAfterSeconds: waitMs! > 0 ? Math.max(1, Math.ceil(waitMs! / 1000)) : 0, retryAfterMs: waitMs!, buckets };
  }
}
