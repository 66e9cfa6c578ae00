// 100,000 heartbeats from 2,000 learners in two organizations, most through the service and
// buffer API at high concurrency, a share through the subgraph's HTTP endpoint, with a
// flusher process SIGKILLed after committing but before acknowledging (and with read but
// uncommitted entries): every acknowledged beat is counted exactly once, and the flusher's
// SQL statements are bounded by flushes × organizations, not by beats.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant } from '@lectern/kernel';
import { createRedis, waitForRedis } from '@lectern/kernel/redis';
import { actor } from '@lectern/testkit';
import { AccessCache, FLUSH_GROUP, HeartbeatBuffer, HeartbeatService, learningKeys, seedEnrollments, SHARDS } from '../src/testing/index.ts';
import { call, enroll, idem, organization, publishedCourse, RECORD, startHarness, type Harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('learning-beats');
});
afterAll(async () => {
  await h?.close();
});

const LEARNERS_PER_ORG = Number(process.env.LEARNING_TEST_LEARNERS ?? 1000);
const BEATS_PER_LEARNER = 50;

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('heartbeat buffer and flusher', () => {
  it('reflects every acknowledged beat exactly once, through a killed flusher, in bounded statements', { timeout: 120_000 }, async () => {
    const orgs = [organization(), organization()];
    type Learner = { tenantId: string; learnerId: string; lessons: string[] };
    const learners: Learner[] = [];
    for (const org of orgs) {
      const course = await publishedCourse(h, org.tenantId);
      await enroll(h, org.tenantId, course, randomUUID()); // learning learns the version
      const ids = Array.from({ length: LEARNERS_PER_ORG }, () => randomUUID());
      await seedEnrollments(h.orm, { tenantId: org.tenantId, courseId: course.courseId, courseVersionId: course.versionId, learnerIds: ids });
      for (const learnerId of ids) learners.push({ tenantId: org.tenantId, learnerId, lessons: [course.lessons.v1, course.lessons.v2] });
    }
    // 100,000 beats; 2% of them through HTTP; every 50th replayed (must not count twice).
    type Job = { l: Learner; input: { lessonId: string; position: number; secondsWatched: number; clientTimestamp: string; deviceId: string; idempotencyKey: string }; http: boolean };
    const jobs: Job[] = [];
    const t0 = Date.now() - 3_600_000;
    for (const l of learners) {
      for (let i = 0; i < BEATS_PER_LEARNER; i++) {
        jobs.push({
          l,
          http: i % 50 === 1,
          input: { lessonId: l.lessons[i % 2]!, position: 10 + i * 5, secondsWatched: 1 + (i % 7), clientTimestamp: new Date(t0 + i * 1000).toISOString(), deviceId: `device-${i % 3}`, idempotencyKey: idem() },
        });
      }
    }
    expect(jobs.length).toBe(LEARNERS_PER_ORG * 2 * BEATS_PER_LEARNER);
    const phase = (name: string) => process.stdout.write(`${name} +${Date.now() - started}ms\n`);
    const started = Date.now();
    const expected = new Map<string, number>();
    for (const j of jobs) expected.set(j.l.tenantId, (expected.get(j.l.tenantId) ?? 0) + j.input.secondsWatched);

    const prefixed = createRedis(h.env.REDIS_URL, { keyPrefix: h.env.REDIS_PREFIX });
    await waitForRedis(prefixed, h.env.REDIS_URL);
    const cache = new AccessCache(prefixed, '');
    const buffer = new HeartbeatBuffer(prefixed, '');
    let acknowledged = 0;
    let duplicates = 0;
    const send = async (j: Job) => {
      const who = actor({ tenantId: j.l.tenantId, userId: j.l.learnerId, roles: ['LEARNER'] });
      let result: { accepted: boolean; duplicate: boolean };
      if (j.http) {
        const r = await call(h, who, RECORD, { input: j.input });
        result = r.data!.recordProgress;
      } else {
        // As the subgraph runs it: one unit of work per call (it touches PostgreSQL only on a cache miss).
        result = await inTenant(h.orm, j.l.tenantId, (uow) => new HeartbeatService({ actor: who, uow, cache, buffer }).record(j.input));
      }
      expect(result.accepted).toBe(true);
      if (result.duplicate) duplicates++;
      else acknowledged++;
    };

    // 1. A third of the beats, then a flusher process that commits one organization's batch
    //    and is SIGKILLed before XACK (the other organization's entries: read, not committed).
    const cut = Math.floor(jobs.length / 3);
    const first = jobs.slice(0, cut);
    await pool(first, 200, send);
    phase('first third buffered');
    const child = spawn(process.execPath, [new URL('./fixtures/flusher-child.ts', import.meta.url).pathname, h.env.DATABASE_URL, h.env.REDIS_URL, h.env.REDIS_PREFIX], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    phase('child exited');
    expect(signal).toBe('SIGKILL');
    expect(out).toContain('committed');
    const keys = learningKeys(h.env.REDIS_PREFIX);
    const pendingOf = async () => {
      let n = 0;
      for (let s = 0; s < SHARDS; s++) n += Number(((await h.redis.xpending(keys.stream(s), FLUSH_GROUP)) as [number])[0]);
      return n;
    };
    expect(await pendingOf()).toBe(cut);

    // 2. A fresh flusher takes the shards over once the dead one's leases lapse, while the
    //    rest of the beats (and replays of some) arrive.
    const statementsBefore = h.flushStats.statements;
    const flusher = h.flusher({ intervalMs: 200, batchPerShard: 2000, leaseMs: 1000 });
    flusher.start();
    const rest = jobs.slice(cut);
    const replays = jobs.filter((_, i) => i % 50 === 0);
    await pool([...rest, ...replays], 200, send);
    phase('all sent');
    await flusher.stop();
    phase('flusher stopped');

    expect(acknowledged).toBe(jobs.length);
    expect(duplicates).toBe(replays.length);
    let left = 0;
    for (let s = 0; s < SHARDS; s++) left += await h.redis.xlen(keys.stream(s));
    expect(left).toBe(0);
    expect(await pendingOf()).toBe(0);

    for (const org of orgs) {
      const { rows } = await h.admin.query(
        `select (select coalesce(sum(hb_seconds), 0)::int from learning.device_watch where tenant_id = $1) as devices,
                (select coalesce(sum(watched_seconds), 0)::int from learning.lesson_progress where tenant_id = $1) as lessons,
                (select count(*)::int from learning.lesson_progress where tenant_id = $1) as rows`,
        [org.tenantId],
      );
      expect(rows[0]).toEqual({ devices: expected.get(org.tenantId), lessons: expected.get(org.tenantId), rows: LEARNERS_PER_ORG * 2 });
    }
    // Statements: at most 5 per organization transaction (begin, tenant, lock, upsert, commit)
    // plus a notify when a completion was recorded; transactions ≤ flushes × organizations.
    const statements = h.flushStats.statements - statementsBefore;
    expect(flusher.stats.transactions).toBeLessThanOrEqual(flusher.stats.flushes * orgs.length);
    expect(statements).toBeLessThanOrEqual(flusher.stats.transactions * 6);
    expect(flusher.stats.flushes).toBeLessThan(500);
    process.stdout.write(`flushes=${flusher.stats.flushes} transactions=${flusher.stats.transactions} statements=${statements} maxLagMs=${flusher.stats.maxLagMs}\n`);
    prefixed.disconnect();
  });

  it('shares the shards out among the live flushers, and hands a stopped one’s shards to the rest', async () => {
    // its own key prefix: a buffer of its own, with no flusher of another test on it
    const prefix = `${h.env.REDIS_PREFIX}share-${randomUUID().slice(0, 8)}:`;
    const flushers = [0, 1, 2].map(() => h.flusher({ prefix, leaseMs: 5000 }));
    const [a, b, c] = flushers as [typeof flushers[0], typeof flushers[0], typeof flushers[0]];
    const all = Array.from({ length: SHARDS }, (_, i) => i);
    const held = () => flushers.map((f) => f.shards.length);
    const disjoint = () => {
      const owners = flushers.flatMap((f) => f.shards);
      expect(new Set(owners).size).toBe(owners.length);
    };
    await a.flushOnce();
    expect(a.shards).toEqual(all);
    // b arrives: a gives back what is above its share, b takes it on its next flush
    await b.flushOnce();
    expect(b.shards).toEqual([]);
    await a.flushOnce();
    await b.flushOnce();
    expect(held()).toEqual([SHARDS / 2, SHARDS / 2, 0]);
    disjoint();
    // a third: shares of ceil(16 / 3) = 6, every shard still held by exactly one
    await c.flushOnce();
    for (let round = 0; round < 3; round++) for (const f of flushers) await f.flushOnce();
    expect(Math.max(...held())).toBe(Math.ceil(SHARDS / 3));
    expect(held().reduce((x, y) => x + y, 0)).toBe(SHARDS);
    disjoint();
    // b stops (final flush, leases released, gone from the live list): a and c take its shards
    await b.stop();
    for (let round = 0; round < 2; round++) for (const f of [a, c]) await f.flushOnce();
    expect(a.shards.length + c.shards.length).toBe(SHARDS);
    expect(Math.max(a.shards.length, c.shards.length)).toBe(SHARDS / 2);
    disjoint();
    await a.stop();
    await c.flushOnce();
    expect(c.shards).toEqual(all);
    await c.stop();
  });
});
