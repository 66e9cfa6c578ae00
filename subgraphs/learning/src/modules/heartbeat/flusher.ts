// The heartbeat flusher (runs in the learning worker). Every `intervalMs`, or at once while
// a full batch is waiting, it:
//   1. renews (or takes) a lease per shard stream — one flusher drains a shard at a time,
//      so a shard's beats are applied in stream order; a flusher that dies loses its leases
//      after `leaseMs` and the next owner XAUTOCLAIMs its pending entries. The live flushers
//      share the shards: each holds at most ceil(SHARDS / live flushers), releasing the rest
//      for a newcomer, and takes free ones up to that share;
//   2. reads each owned shard through the consumer group: its own pending entries first
//      (a failed or interrupted flush), then new ones (XREADGROUP >);
//   3. aggregates the beats per organization and writes each organization's batch in ONE
//      transaction (lock + one set-based statement, progress.store.ts), completion events
//      included;
//   4. after commit, XACK + XDEL the entries.
// A crash between 3 and 4 re-delivers entries whose effect already committed: coverage is
// a union (idempotent) and each device's heartbeat seconds only count entries with a stream
// id above the last one applied for that device and lesson, so nothing is counted twice.
// Redis losing its data (a restart without persistence, a failover) loses the consumer
// groups: a read then fails with NOGROUP, and the flusher recreates every shard's group and
// goes on (beats accepted since land in a fresh stream, read from its start). `check()` is
// the worker's readiness: it fails while flushes fail (Redis down, PostgreSQL failing).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant, type Logger } from '@lectern/kernel';
import { applyProgress, noFacts, type DeviceFactsInput, type LessonFactsInput } from '../progress/progress.store.ts';
import { decodeBeat, type Beat } from './buffer.ts';
import { FLUSH_GROUP, learningKeys, SHARDS, type LearningKeys } from './keys.ts';
import { Pause } from '@lectern/kernel/pause';

const LEASE_LUA = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2])) return 2 end
return 0`;
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface FlusherOptions {
  orm: MikroORM;
  /** A client WITHOUT keyPrefix: keys are prefixed here. */
  redis: Redis;
  prefix: string;
  log: Logger;
  /** Pause between flushes when the buffer is not full (ms). */
  intervalMs?: number;
  /** Entries read per shard per flush. */
  batchPerShard?: number;
  /** A dead flusher's shards (and pending entries) are taken over after this long (ms). */
  leaseMs?: number;
  consumer?: string;
  /** Test hook: runs after an organization's batch committed, before XACK. */
  afterCommit?: (info: { tenantId: string; entries: number }) => void | Promise<void>;
}

export interface FlusherStats {
  flushes: number;
  /** Organization transactions committed. */
  transactions: number;
  beats: number;
  lessonsCompleted: number;
  coursesCompleted: number;
  /** Age of the oldest beat of the last flush when it committed (ms). */
  lastLagMs: number;
  maxLagMs: number;
  failures: number;
  /** Times the consumer groups were found missing and recreated. */
  groupsRecreated: number;
}

interface Entry {
  shard: number;
  id: string;
  beat: Beat | null;
}

type StreamReply = [string, [string, string[] | null][]][] | null;

export class HeartbeatFlusher {
  readonly consumer: string;
  readonly stats: FlusherStats = { flushes: 0, transactions: 0, beats: 0, lessonsCompleted: 0, coursesCompleted: 0, lastLagMs: 0, maxLagMs: 0, failures: 0, groupsRecreated: 0 };
  #o: Required<Omit<FlusherOptions, 'afterCommit' | 'consumer'>> & Pick<FlusherOptions, 'afterCommit'>;
  #keys: LearningKeys;
  #owned = new Set<number>();
  #loop: Promise<void> | undefined;
  #stopping = false;
  #pause = new Pause();
  /** The order it tries free shards in: from a place given by its name. */
  #takeOrder: number[];
  #groupsReady: Promise<void> | undefined;
  /** The last flush's failure (null once one succeeds). */
  #lastError: Error | null = null;
  /** An organization's batch that failed in the current flush (left pending, retried). */
  #batchError: Error | null = null;

  constructor(opts: FlusherOptions) {
    this.consumer = opts.consumer ?? `flusher-${randomUUID()}`;
    this.#o = { intervalMs: 500, batchPerShard: 1000, leaseMs: 10_000, ...opts };
    this.#keys = learningKeys(opts.prefix);
    const start = parseInt(this.consumer.replace(/[^0-9a-f]/gi, '').slice(-6) || '0', 16) % SHARDS;
    this.#takeOrder = Array.from({ length: SHARDS }, (_, i) => (start + i) % SHARDS);
  }

  /** Creates the consumer group of every shard (idempotent). */
  ensureGroups(): Promise<void> {
    this.#groupsReady ??= (async () => {
      const pipe = this.#o.redis.pipeline();
      for (let s = 0; s < SHARDS; s++) pipe.xgroup('CREATE', this.#keys.stream(s), FLUSH_GROUP, '0', 'MKSTREAM');
      for (const [err] of (await pipe.exec()) ?? []) if (err && !/BUSYGROUP/.test(err.message)) throw err;
    })().catch((err: unknown) => {
      // Not memoised when it failed (Redis down): the next flush tries again.
      this.#groupsReady = undefined;
      throw err;
    });
    return this.#groupsReady;
  }

  /** Creates every shard's consumer group again (Redis came back without its data); idempotent. */
  async recreateGroups(): Promise<void> {
    this.#groupsReady = undefined;
    await this.ensureGroups();
  }

  /** Readiness: throws (with what cannot work) while flushes fail. */
  async check(): Promise<void> {
    if (this.#lastError) throw new Error(`heartbeats are not being flushed: ${this.#lastError.message}`);
  }

  start(): void {
    if (this.#loop) return;
    this.#loop = (async () => {
      // Each flush ensures the groups itself: Redis being down now must not end the loop.
      while (!this.#stopping) {
        let full = false;
        try {
          full = (await this.flushOnce()).full;
        } catch (err) {
          this.stats.failures++;
          this.#o.log.error({ err }, 'heartbeat flush failed; retrying');
        }
        if (!full && !this.#stopping) await this.#pause.for(this.#o.intervalMs);
      }
    })();
  }

  /** Stops the loop, flushes what is left (final flush) and releases the leases. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#pause.wake();
    await this.#loop?.catch(() => {});
    try {
      for (let i = 0; i < 50; i++) if ((await this.flushOnce()).entries === 0) break;
    } catch (err) {
      this.#o.log.error({ err }, 'final heartbeat flush failed; pending beats stay in Redis for the next flusher');
    }
    for (const s of this.#owned) await this.#o.redis.eval(RELEASE_LUA, 1, this.#keys.lease(s), this.consumer).catch(() => {});
    this.#owned.clear();
    await this.#o.redis.zrem(this.#keys.flushers(), this.consumer).catch(() => {});
  }

  /** The shards this flusher holds now (ascending). */
  get shards(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  /** Renews this flusher's leases and evens out the shards among the live flushers; returns the shards just taken. */
  async #leases(): Promise<number[]> {
    const redis = this.#o.redis;
    const now = Date.now();
    // Who is flushing: each flusher says so every flush; one silent for a lease period is gone.
    const seen = await redis.pipeline().zadd(this.#keys.flushers(), now, this.consumer).zremrangebyscore(this.#keys.flushers(), '-inf', now - this.#o.leaseMs).zcard(this.#keys.flushers()).exec();
    // A pipeline reports failures per command: Redis unreachable must fail the flush, not look like "no shard free".
    const failed = seen?.find(([err]) => err)?.[0];
    if (failed) throw failed;
    const share = Math.ceil(SHARDS / Math.max(1, Number(seen?.[2]?.[1] ?? 1)));
    const lease = async (shards: number[]) => {
      if (!shards.length) return [];
      const pipe = redis.pipeline();
      for (const s of shards) pipe.eval(LEASE_LUA, 1, this.#keys.lease(s), this.consumer, this.#o.leaseMs);
      return ((await pipe.exec()) ?? []).map(([err, r]) => (err ? 0 : Number(r)));
    };
    const release = async (shards: number[]) => {
      const pipe = redis.pipeline();
      for (const s of shards) pipe.eval(RELEASE_LUA, 1, this.#keys.lease(s), this.consumer);
      if (shards.length) await pipe.exec();
    };
    // Keep what it holds (renewed, or taken again when it lapsed), up to its share.
    const owned = [...this.#owned].sort((a, b) => a - b);
    const renewed = await lease(owned);
    let held = owned.filter((_, i) => renewed[i]! > 0);
    const fresh = owned.filter((_, i) => renewed[i] === 2);
    if (held.length > share) {
      await release(held.slice(share));
      held = held.slice(0, share);
    }
    // Below its share: take free shards (in an order of its own, so newcomers spread out).
    if (held.length < share) {
      const others = this.#takeOrder.filter((s) => !held.includes(s));
      const replies = await lease(others);
      const got = others.filter((_, i) => replies[i]! > 0);
      const room = share - held.length;
      await release(got.slice(room));
      held = [...held, ...got.slice(0, room)];
      fresh.push(...got.slice(0, room));
    }
    this.#owned = new Set(held);
    return fresh.filter((s) => this.#owned.has(s));
  }

  /** Takes over every pending entry of a shard whose lease this flusher just took. */
  async #reclaim(shard: number): Promise<number> {
    let cursor = '0-0';
    let claimed = 0;
    do {
      const [next, entries] = (await this.#o.redis.xautoclaim(this.#keys.stream(shard), FLUSH_GROUP, this.consumer, 0, cursor, 'COUNT', 1000, 'JUSTID')) as [string, string[]];
      claimed += entries.length;
      cursor = next;
    } while (cursor !== '0-0');
    return claimed;
  }

  async #read(): Promise<Entry[]> {
    const shards = [...this.#owned];
    const count = this.#o.batchPerShard;
    const readPipe = this.#o.redis.pipeline();
    for (const s of shards) readPipe.xreadgroup('GROUP', FLUSH_GROUP, this.consumer, 'COUNT', count, 'STREAMS', this.#keys.stream(s), '0');
    const pending = (await readPipe.exec()) ?? [];
    const out: Entry[] = [];
    const needNew: number[] = [];
    pending.forEach(([err, reply], i) => {
      if (err) throw err;
      const entries = (reply as StreamReply)?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) out.push({ shard: shards[i]!, id, beat: fields ? decodeBeat(fields) : null });
      // A full page of pending entries: older ones may remain, so new ones wait (stream order per shard).
      if (entries.length < count) needNew.push(shards[i]!);
    });
    if (needNew.length) {
      const newPipe = this.#o.redis.pipeline();
      for (const s of needNew) newPipe.xreadgroup('GROUP', FLUSH_GROUP, this.consumer, 'COUNT', count, 'STREAMS', this.#keys.stream(s), '>');
      ((await newPipe.exec()) ?? []).forEach(([err, reply], i) => {
        if (err) throw err;
        for (const [id, fields] of (reply as StreamReply)?.[0]?.[1] ?? []) out.push({ shard: needNew[i]!, id, beat: fields ? decodeBeat(fields) : null });
      });
    }
    return out;
  }

  async #ack(entries: Entry[]): Promise<void> {
    const byShard = new Map<number, string[]>();
    for (const e of entries) byShard.set(e.shard, [...(byShard.get(e.shard) ?? []), e.id]);
    const pipe = this.#o.redis.pipeline();
    for (const [s, ids] of byShard) {
      pipe.xack(this.#keys.stream(s), FLUSH_GROUP, ...ids);
      pipe.xdel(this.#keys.stream(s), ...ids);
    }
    await pipe.exec();
  }

  /**
   * One flush: returns how many entries it handled and whether a shard had a full page. A
   * missing consumer group (Redis lost its data) is recreated and the flush goes on.
   */
  async flushOnce(): Promise<{ entries: number; full: boolean }> {
    try {
      let result: { entries: number; full: boolean };
      try {
        result = await this.#flush();
      } catch (err) {
        if (!/NOGROUP/.test((err as Error)?.message ?? '')) throw err;
        this.stats.groupsRecreated++;
        this.#o.log.warn({ err }, 'heartbeat consumer groups are missing (Redis lost its data?); recreating them');
        this.#groupsReady = undefined;
        result = await this.#flush();
      }
      this.#lastError = this.#batchError;
      return result;
    } catch (err) {
      this.#lastError = err as Error;
      throw err;
    }
  }

  async #flush(): Promise<{ entries: number; full: boolean }> {
    this.#batchError = null;
    await this.ensureGroups();
    const fresh = await this.#leases();
    for (const s of fresh) {
      const n = await this.#reclaim(s);
      if (n) this.#o.log.info({ shard: s, entries: n }, 'took over pending heartbeats of a previous flusher');
    }
    if (this.#owned.size === 0) return { entries: 0, full: false };
    const entries = await this.#read();
    if (entries.length === 0) return { entries: 0, full: false };
    this.stats.flushes++;
    const junk = entries.filter((e) => !e.beat);
    if (junk.length) {
      this.#o.log.warn({ entries: junk.length }, 'dropping unreadable heartbeat entries');
      await this.#ack(junk);
    }
    const byTenant = new Map<string, Entry[]>();
    for (const e of entries) if (e.beat) byTenant.set(e.beat.tenantId, [...(byTenant.get(e.beat.tenantId) ?? []), e]);
    for (const [tenantId, list] of byTenant) {
      const { lessons, devices } = aggregate(list);
      try {
        const result = await inTenant(this.#o.orm, tenantId, async (uow) => applyProgress(await uow.em(), tenantId, lessons, devices));
        this.stats.transactions++;
        this.stats.lessonsCompleted += result.lessonsCompleted;
        this.stats.coursesCompleted += result.coursesCompleted;
      } catch (err) {
        // Left pending: retried on the next flush (with whatever arrived since, in one statement).
        this.stats.failures++;
        this.#batchError = err as Error;
        this.#o.log.error({ err, tenantId, entries: list.length }, 'heartbeat batch of an organization failed; will retry');
        continue;
      }
      await this.#o.afterCommit?.({ tenantId, entries: list.length });
      await this.#ack(list);
      this.stats.beats += list.length;
      const oldest = Math.min(...list.map((e) => Number(e.id.split('-')[0])));
      this.stats.lastLagMs = Date.now() - oldest;
      this.stats.maxLagMs = Math.max(this.stats.maxLagMs, this.stats.lastLagMs);
    }
    return { entries: entries.length, full: entries.length >= this.#o.batchPerShard };
  }
}

/** Beats of one organization → per-lesson facts and per-device deltas (one row per key). */
export function aggregate(entries: Entry[]): { lessons: LessonFactsInput[]; devices: DeviceFactsInput[] } {
  const lessons = new Map<string, LessonFactsInput & { stamp: [number, string] }>();
  const devices = new Map<string, DeviceFactsInput>();
  for (const { id, beat: b } of entries) {
    if (!b) continue;
    const lk = `${b.enrollmentId}|${b.lessonId}`;
    let l = lessons.get(lk);
    if (!l) {
      l = { ...noFacts(b.enrollmentId, b.lessonId), opened: true, stamp: [-Infinity, ''] };
      lessons.set(lk, l);
    }
    if (b.clientTime > l.stamp[0] || (b.clientTime === l.stamp[0] && b.deviceId > l.stamp[1])) {
      l.stamp = [b.clientTime, b.deviceId];
      l.position = b.position;
      l.positionAt = new Date(b.clientTime).toISOString();
      l.positionDevice = b.deviceId;
    }
    if (b.secondsWatched > 0) l.ranges.push([Math.max(0, b.position - b.secondsWatched), b.position]);
    if (b.durationSeconds !== null) l.reportedDuration = Math.max(l.reportedDuration ?? 0, b.durationSeconds);
    const dk = `${lk}|${b.deviceId}`;
    let d = devices.get(dk);
    if (!d) {
      d = { enrollmentId: b.enrollmentId, lessonId: b.lessonId, deviceId: b.deviceId, beats: [], syncSeconds: null };
      devices.set(dk, d);
    }
    const [ms, seq] = id.split('-').map(Number) as [number, number];
    d.beats.push([ms, seq, b.secondsWatched]);
  }
  return { lessons: [...lessons.values()].map(({ stamp: _s, ...l }) => l), devices: [...devices.values()] };
}
