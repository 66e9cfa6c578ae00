// 2,000 heartbeats from 40 learners in two organizations, most through the service and
// buffer API at high concurrency, a share through the subgraph's HTTP endpoint, some replayed,
// with a flusher process SIGKILLed after committing one organization's batch but before
// acknowledging anything (the other organization's entries: read, not committed): every
// acknowledged beat is counted exactly once, each lesson completion is announced once, and
// the flusher's SQL statements are bounded by its transactions (≤ flushes × organizations),
// not by beats. Volumes (100,000 beats and more) are `pnpm bench progress`'s.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { inTenant } from '@lectern/kernel';
import { createRedis, waitForRedis } from '@lectern/kernel/redis';
import { actor } from '@lectern/testkit';
import { AccessCache, catalogClient, FLUSH_GROUP, HeartbeatBuffer, HeartbeatService, learningKeys, seedEnrollments, SHARDS } from '../src/testing/index.ts';
import { until } from '@lectern/testkit';
import { call, enroll, idem, L, organization, publishedCourse, RECORD, startHarness, VIDEO_SECONDS, type Harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('learning-beats');
});
afterAll(async () => {
  await h?.close();
});

const LEARNERS_PER_ORG = 20;
const BEATS_PER_LEARNER = 50;

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('heartbeat buffer and flusher', () => {
  it('reflects every acknowledged beat exactly once, through a killed flusher, in bounded statements', { timeout: 60_000 }, async () => {
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
    // 2,000 beats; 2% of them through HTTP; every 50th replayed (must not count twice).
    type Job = { l: Learner; input: { lessonId: string; position: number; secondsWatched: number; clientTimestamp: string; deviceId: string; idempotencyKey: string }; http: boolean };
    const jobs: Job[] = [];
    const t0 = Date.now() - 3_600_000;
    // Round by round, as players send them: each part below holds beats of every learner of both organizations.
    for (let i = 0; i < BEATS_PER_LEARNER; i++) {
      for (const l of learners) {
        jobs.push({
          l,
          http: i % 50 === 1,
          input: { lessonId: L(l.lessons[i % 2]!), position: 10 + i * 5, secondsWatched: 1 + (i % 7), clientTimestamp: new Date(t0 + i * 1000).toISOString(), deviceId: `device-${i % 3}`, idempotencyKey: idem() },
        });
      }
    }
    expect(jobs.length).toBe(LEARNERS_PER_ORG * 2 * BEATS_PER_LEARNER);
    const phase = (name: string) => process.stdout.write(`${name} +${Date.now() - started}ms\n`);
    const started = Date.now();
    const secondsOf = (list: Job[], tenantId: string) => list.reduce((n, j) => n + (j.l.tenantId === tenantId ? j.input.secondsWatched : 0), 0);
    // The lessons `list` completes in an organization (a 100 s video: 80 distinct seconds watched), each to be announced once.
    const completions = (list: Job[], tenantId: string) => {
      const covered = new Map<string, Set<number>>();
      for (const j of list) {
        if (j.l.tenantId !== tenantId) continue;
        const key = `${j.l.learnerId}|${j.input.lessonId}`;
        const seconds = covered.get(key) ?? new Set<number>();
        for (let s = j.input.position - j.input.secondsWatched; s < j.input.position; s++) seconds.add(s);
        covered.set(key, seconds);
      }
      return [...covered.values()].filter((seconds) => seconds.size >= Math.ceil(0.8 * VIDEO_SECONDS)).length;
    };

    const prefixed = createRedis(h.env.REDIS_URL, { keyPrefix: h.env.REDIS_PREFIX });
    onTestFinished(() => prefixed.disconnect());
    await waitForRedis(prefixed, h.env.REDIS_URL);
    const cache = new AccessCache(prefixed, '');
    const buffer = new HeartbeatBuffer(prefixed, '');
    const catalog = catalogClient(h.env);
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
        result = await inTenant(h.orm, j.l.tenantId, (uow) => new HeartbeatService({ actor: who, uow, cache, buffer, catalog }).record(j.input));
      }
      expect(result.accepted).toBe(true);
      if (result.duplicate) duplicates++;
      else acknowledged++;
    };
    const keys = learningKeys(h.env.REDIS_PREFIX);
    const pendingOf = async () => {
      let n = 0;
      for (let s = 0; s < SHARDS; s++) n += Number(((await h.redis.xpending(keys.stream(s), FLUSH_GROUP)) as [number])[0]);
      return n;
    };
    const bufferedOf = async () => {
      let n = 0;
      for (let s = 0; s < SHARDS; s++) n += await h.redis.xlen(keys.stream(s));
      return n;
    };
    const watchedOf = async (tenantId: string) => {
      const { rows } = await h.admin.query(
        `select (select coalesce(sum(hb_seconds), 0)::int from learning.device_watch where tenant_id = $1) as devices,
                (select coalesce(sum(watched_seconds), 0)::int from learning.lesson_progress where tenant_id = $1) as lessons,
                (select count(*)::int from learning.lesson_progress where tenant_id = $1) as rows,
                (select count(*)::int from learning.outbox where tenant_id = $1 and type = 'learning.LessonCompleted') as "lessonsCompleted",
                (select count(*)::int from learning.outbox where tenant_id = $1 and type = 'learning.CourseCompleted') as "coursesCompleted"`,
        [tenantId],
      );
      return rows[0] as { devices: number; lessons: number; rows: number; lessonsCompleted: number; coursesCompleted: number };
    };

    // The flusher process to kill, started now (a latch holds it until the beats are there).
    const child = spawn(process.execPath, [new URL('./fixtures/flusher-child.ts', import.meta.url).pathname, h.env.DATABASE_URL, h.env.REDIS_URL, h.env.REDIS_PREFIX], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    let exit: { signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (_code, signal) => (exit = { signal }));
    onTestFinished(() => void (exit || child.kill('SIGKILL')));

    // 1. The beats of the first 42 rounds (lessons complete in rounds 40 and 41), then a
    //    flusher process that commits one organization's batch, completions included, and is
    //    SIGKILLed before XACK (the other organization's entries: read, not committed).
    const cut = 42 * learners.length;
    const first = jobs.slice(0, cut);
    for (const org of orgs) expect(completions(first, org.tenantId)).toBeGreaterThan(0);
    await pool(first, 100, send);
    phase('first 42 rounds buffered');
    await until(() => out.includes('ready\n')); // the flusher process has started
    child.stdin!.write('go\n');
    await until(() => exit !== undefined); // the flusher process has exited
    phase('child exited');
    expect(exit!.signal).toBe('SIGKILL');
    expect(out).toContain('committed');
    expect(await pendingOf()).toBe(cut);
    // One organization's batch committed whole (its beats, its completions), the other's not at all.
    const afterKill = await Promise.all(orgs.map((o) => watchedOf(o.tenantId)));
    const whole = (i: number) => ({ devices: secondsOf(first, orgs[i]!.tenantId), lessons: secondsOf(first, orgs[i]!.tenantId), rows: LEARNERS_PER_ORG * 2, lessonsCompleted: completions(first, orgs[i]!.tenantId), coursesCompleted: 0 });
    const nothing = { devices: 0, lessons: 0, rows: 0, lessonsCompleted: 0, coursesCompleted: 0 };
    expect([[whole(0), nothing], [nothing, whole(1)]]).toContainEqual(afterKill);

    // 2. A fresh flusher takes the shards over once the dead one's leases lapse, while the
    //    rest of the beats (and replays of some) arrive; then every beat is flushed. Pages
    //    of 100: the dead one's pending entries take more than one read on most shards, each
    //    shard's new entries waiting behind them (stream order).
    const statementsBefore = h.flushStats.statements;
    const flusher = h.flusher({ intervalMs: 200, batchPerShard: 100, leaseMs: 1000 });
    flusher.start();
    const rest = jobs.slice(cut);
    const replays = jobs.filter((_, i) => i % 50 === 0);
    await pool([...rest, ...replays], 100, send);
    phase('all sent');
    // the new flusher has taken the shards over and flushed every beat
    await until(async () => (await pendingOf()) === 0 && (await bufferedOf()) === 0);
    phase('all flushed');
    await flusher.stop();

    expect(acknowledged).toBe(jobs.length);
    expect(duplicates).toBe(replays.length);
    expect(flusher.shards).toEqual([]);
    expect(await bufferedOf()).toBe(0);
    expect(await pendingOf()).toBe(0);

    for (const org of orgs) {
      const total = secondsOf(jobs, org.tenantId);
      expect(await watchedOf(org.tenantId)).toEqual({ devices: total, lessons: total, rows: LEARNERS_PER_ORG * 2, lessonsCompleted: completions(jobs, org.tenantId), coursesCompleted: 0 });
    }
    // Statements: at most 5 per organization transaction (begin, tenant, lock, upsert, commit;
    // the ORM's hook sees three), plus an insert and a wake-up per event type when it
    // completed something (kernel recordEvents); transactions ≤ flushes × organizations.
    const { transactions, flushes, lessonsCompleted, coursesCompleted } = flusher.stats;
    const statements = h.flushStats.statements - statementsBefore;
    expect(transactions).toBeLessThanOrEqual(flushes * orgs.length);
    expect(statements).toBeLessThanOrEqual(transactions * 5 + 2 * Math.min(transactions, lessonsCompleted) + 2 * Math.min(transactions, coursesCompleted));
    expect(flushes).toBeLessThan(500);
    process.stdout.write(`flushes=${flushes} transactions=${transactions} statements=${statements} lessonsCompleted=${lessonsCompleted} maxLagMs=${flusher.stats.maxLagMs}\n`);
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
