// Presence in Redis: who is in a session now, kept alive by leases (one per live subscription
// on the session) and expiring within the TTL of the last renewal. Keys (the client's
// keyPrefix, REDIS_PREFIX, comes first):
//
//   live:leases                    ZSET  leaseId → expiry (ms since epoch), every lease of every session
//   live:lease:<leaseId>           HASH  t (tenant), s (session), u (user), r ('1': admitted by the
//                                       roster, re-checked at each renewal; '0': by role)
//   live:present:<tenant>:<session> ZSET userId → since (ms): the present people, in order of arrival
//   live:leasecount:<tenant>:<session> HASH userId → live leases
//
// A person is present while at least one lease of theirs is alive. join and leave are Lua
// scripts, so each lease's start and end is one atomic step and exactly one caller sees a
// transition (absent → present, present → absent): that caller publishes it and records the
// attendance interval. The sweeper (any number of replicas at once) removes expired leases with
// the same leave script, guarded by the expiry it read: a lease renewed meanwhile is left alone,
// and a lease two sweepers race for is ended by the one whose ZREM removed it.
import type { Redis } from 'ioredis';

export interface PresenceTransition {
  tenantId: string;
  sessionId: string;
  userId: string;
  present: boolean;
  at: Date;
}

const LEASES = 'live:leases';
const leaseKey = (id: string) => `live:lease:${id}`;
const presentKey = (t: string, s: string) => `live:present:${t}:${s}`;
const countKey = (t: string, s: string) => `live:leasecount:${t}:${s}`;

// KEYS: leases, lease hash, present, counts. ARGV: leaseId, tenant, session, user, expiry ms, now ms, by roster ('1'/'0').
// Returns 1 when the user became present, 0 otherwise (already present, or a lease id seen before).
const JOIN = `
if redis.call('zscore', KEYS[1], ARGV[1]) then return 0 end
redis.call('zadd', KEYS[1], ARGV[5], ARGV[1])
redis.call('hset', KEYS[2], 't', ARGV[2], 's', ARGV[3], 'u', ARGV[4], 'r', ARGV[7])
local n = redis.call('hincrby', KEYS[4], ARGV[4], 1)
if n == 1 then
  redis.call('zadd', KEYS[3], ARGV[6], ARGV[4])
  return 1
end
return 0`;

// KEYS: leases, lease hash, present, counts. ARGV: leaseId, user, expired-before ms ('' = unconditional).
// Returns 1 when the user became absent, 0 when they keep another lease, -1 when the lease was
// not (or no longer) there, or was renewed since the sweeper read it.
const LEAVE = `
if ARGV[3] ~= '' then
  local score = redis.call('zscore', KEYS[1], ARGV[1])
  if not score or tonumber(score) > tonumber(ARGV[3]) then return -1 end
end
if redis.call('zrem', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('del', KEYS[2])
local n = redis.call('hincrby', KEYS[4], ARGV[2], -1)
if n <= 0 then
  redis.call('hdel', KEYS[4], ARGV[2])
  redis.call('zrem', KEYS[3], ARGV[2])
  return 1
end
return 0`;

type PresenceRedis = Redis & {
  liveJoin(k1: string, k2: string, k3: string, k4: string, ...args: (string | number)[]): Promise<number>;
  liveLeave(k1: string, k2: string, k3: string, k4: string, ...args: (string | number)[]): Promise<number>;
};

export class PresenceStore {
  readonly ttlSeconds: number;
  #redis: PresenceRedis;

  constructor(redis: Redis, opts: { ttlSeconds: number }) {
    this.ttlSeconds = opts.ttlSeconds;
    if (!('liveJoin' in redis)) {
      redis.defineCommand('liveJoin', { numberOfKeys: 4, lua: JOIN });
      redis.defineCommand('liveLeave', { numberOfKeys: 4, lua: LEAVE });
    }
    this.#redis = redis as PresenceRedis;
  }

  /** Starts lease `leaseId` of `userId` in the session; a transition when they were absent. */
  async join(leaseId: string, tenantId: string, sessionId: string, userId: string, byRoster = false): Promise<PresenceTransition | null> {
    const now = Date.now();
    const became = await this.#redis.liveJoin(LEASES, leaseKey(leaseId), presentKey(tenantId, sessionId), countKey(tenantId, sessionId), leaseId, tenantId, sessionId, userId, now + this.ttlSeconds * 1000, now, byRoster ? '1' : '0');
    return became === 1 ? { tenantId, sessionId, userId, present: true, at: new Date(now) } : null;
  }

  /**
   * Extends these leases by the TTL; returns the ids it does not hold (expired or swept
   * meanwhile: ZADD XX leaves them out), whose holders must join again.
   */
  async renew(ids: readonly string[]): Promise<string[]> {
    const expiry = Date.now() + this.ttlSeconds * 1000;
    const unknown: string[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      if (!chunk.length) continue;
      const [held] = (await this.#redis.multi().zmscore(LEASES, ...chunk).zadd(LEASES, 'XX', ...chunk.flatMap((id) => [expiry, id])).exec()) ?? [];
      const scores = (held?.[1] ?? []) as (string | null)[];
      chunk.forEach((id, k) => scores[k] == null && unknown.push(id));
    }
    return unknown;
  }

  /** Who holds these leases, for those admitted by the roster (the rest: by role, or gone). */
  async rosterHolders(ids: readonly string[]): Promise<{ id: string; tenantId: string; sessionId: string; userId: string }[]> {
    if (!ids.length) return [];
    const read = this.#redis.pipeline();
    for (const id of ids) read.hmget(leaseKey(id), 't', 's', 'u', 'r');
    const rows = (await read.exec()) ?? [];
    return ids.flatMap((id, i) => {
      const [err, v] = rows[i] ?? [];
      const [t, s, u, r] = (err ? [] : (v as (string | null)[])) ?? [];
      return t && s && u && r === '1' ? [{ id, tenantId: t, sessionId: s, userId: u }] : [];
    });
  }

  /** Ends these leases now (unknown ids are ignored); the transitions to absent they caused. */
  release(ids: readonly string[]): Promise<PresenceTransition[]> {
    return this.#end(ids, null);
  }

  /** Ends every lease whose expiry passed (at most `limit` a call); the transitions they caused. */
  async sweep(limit = 500): Promise<PresenceTransition[]> {
    const now = Date.now();
    const ids = await this.#redis.zrangebyscore(LEASES, '-inf', now, 'LIMIT', 0, limit);
    return ids.length ? this.#end(ids, now) : [];
  }

  async #end(ids: readonly string[], expiredBefore: number | null): Promise<PresenceTransition[]> {
    if (!ids.length) return [];
    const read = this.#redis.pipeline();
    for (const id of ids) read.hmget(leaseKey(id), 't', 's', 'u');
    const holders = ((await read.exec()) ?? []).map(([err, v]) => (err ? null : (v as (string | null)[])));
    const out: PresenceTransition[] = [];
    const at = new Date();
    await Promise.all(
      ids.map(async (id, i) => {
        const [t, s, u] = holders[i] ?? [];
        if (!t || !s || !u) {
          // A lease without its holder (never fully joined): forget it.
          if (expiredBefore !== null) await this.#redis.zrem(LEASES, id);
          return;
        }
        const r = await this.#redis.liveLeave(LEASES, leaseKey(id), presentKey(t, s), countKey(t, s), id, u, expiredBefore === null ? '' : expiredBefore);
        if (r === 1) out.push({ tenantId: t, sessionId: s, userId: u, present: false, at });
      }),
    );
    return out;
  }

  /** Who is present in each session now, in order of arrival. */
  async participants(tenantId: string, sessionIds: readonly string[]): Promise<{ userId: string; since: Date }[][]> {
    const p = this.#redis.pipeline();
    for (const s of sessionIds) p.zrange(presentKey(tenantId, s), 0, -1, 'WITHSCORES');
    const results = (await p.exec()) ?? [];
    return sessionIds.map((_, i) => {
      const [err, flat] = results[i] ?? [null, []];
      if (err) throw err;
      const list = flat as string[];
      const out: { userId: string; since: Date }[] = [];
      for (let j = 0; j < list.length; j += 2) out.push({ userId: list[j]!, since: new Date(Number(list[j + 1])) });
      return out;
    });
  }

  /** Which of these people are present in the session now. */
  async presentAmong(tenantId: string, sessionId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (!userIds.length) return new Set();
    const scores = await this.#redis.zmscore(presentKey(tenantId, sessionId), ...userIds);
    return new Set(userIds.filter((_, i) => scores[i] !== null));
  }

  /** The people present in one session now. */
  async presentUsers(tenantId: string, sessionId: string): Promise<string[]> {
    return this.#redis.zrange(presentKey(tenantId, sessionId), 0, -1);
  }
}
