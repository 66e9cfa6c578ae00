// Recovery without restarts. Redis losing its data (every key under this test's own prefix is
// deleted: streams, consumer groups, leases, dedupe keys and cached access; the shared Redis
// server itself is never stopped or flushed) leaves a running flusher without its consumer
// groups: it recreates them and flushes the heartbeats acknowledged since, and its readiness
// says when flushing fails. A subgraph whose Redis is unreachable answers recordProgress with
// a typed SERVICE_UNAVAILABLE (and a retry hint) at once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createRedis, waitForRedis } from '@lectern/kernel/redis';
import { until } from '@lectern/testkit';
import { startLearning, startLearningWorker } from '../src/server.ts';
import { beat, call, enroll, errorCode, ok, organization, publishedCourse, RECORD, startHarness, type Course, type Harness } from './helpers.ts';

let h: Harness;
let course: Course;
const A = organization();

beforeAll(async () => {
  h = await startHarness('learning-recovery');
  course = await publishedCourse(h, A.tenantId);
});
afterAll(async () => {
  await h?.close();
});

const watchedSeconds = async (enrollmentId: string) => {
  const { rows } = await h.admin.query('select coalesce(sum(watched_seconds), 0)::int as n from learning.lesson_progress where enrollment_id = $1', [enrollmentId]);
  return rows[0].n as number;
};

/** Deletes every learning key under this test's prefix, as a Redis that lost its data. */
async function loseRedisData() {
  const keys = await h.redis.keys(`${h.env.REDIS_PREFIX}learning:*`);
  expect(keys.some((k) => k.includes('learning:beats:'))).toBe(true);
  await h.redis.del(...keys);
}

describe('after Redis lost its data', () => {
  it('recreates the consumer groups and flushes new heartbeats without a restart', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    const { enrollmentId } = await enroll(h, A.tenantId, course, learner.userId!);
    const flusher = h.flusher({ intervalMs: 50 });
    onTestFinished(() => flusher.stop());
    flusher.start();
    await ok(h, learner, RECORD, { input: beat(course.lessons.v1, 10, 10) });
    await until(() => watchedSeconds(enrollmentId), (n) => n === 10);
    await flusher.check();

    await loseRedisData();
    // Acknowledged after the loss: into a fresh stream that has no consumer group.
    expect((await ok(h, learner, RECORD, { input: beat(course.lessons.v1, 30, 20) })).recordProgress).toEqual({ accepted: true, duplicate: false, errors: [] });
    expect((await ok(h, learner, RECORD, { input: beat(course.lessons.v2, 5, 5) })).recordProgress.accepted).toBe(true);
    await until(() => watchedSeconds(enrollmentId), (n) => n === 35);
    expect(flusher.stats.groupsRecreated).toBeGreaterThanOrEqual(1);
    await flusher.check();
  });

  it('the learning worker flushes heartbeats acknowledged after the loss, and stays ready', { timeout: 30_000 }, async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    const { enrollmentId } = await enroll(h, A.tenantId, course, learner.userId!);
    const worker = await startLearningWorker({ ...h.env, FLUSH_INTERVAL_MS: 50, WORKER_PORT: 0 });
    onTestFinished(() => worker.close());
    await ok(h, learner, RECORD, { input: beat(course.lessons.v1, 10, 10) });
    await until(() => watchedSeconds(enrollmentId), (n) => n === 10);
    await loseRedisData();
    await ok(h, learner, RECORD, { input: beat(course.lessons.v1, 40, 30) });
    await until(() => watchedSeconds(enrollmentId), (n) => n === 40);
    expect(worker.runtime.flusher!.stats.groupsRecreated).toBeGreaterThanOrEqual(1);
    await worker.runtime.readiness().heartbeatFlusher!();
    expect((await fetch(new URL('/readyz', worker.url))).status).toBe(200);
  });

  it('reports through readiness that heartbeats are not flushed while Redis is unreachable, and recovers', async () => {
    const redis = createRedis(h.env.REDIS_URL);
    await waitForRedis(redis, h.env.REDIS_URL);
    const flusher = h.flusher({ redis, prefix: `${h.env.REDIS_PREFIX}down-${randomUUID().slice(0, 8)}:` });
    await flusher.flushOnce();
    await flusher.check();
    // The client cannot reach Redis (as when it is down: commands fail fast).
    redis.disconnect();
    await expect(flusher.flushOnce()).rejects.toThrow();
    await expect(flusher.check()).rejects.toThrow(/heartbeats are not being flushed/);
    // Redis answers again: the next flush succeeds and readiness follows.
    await until(() => redis.status === 'end');
    await redis.connect();
    await waitForRedis(redis, h.env.REDIS_URL);
    await flusher.flushOnce();
    await flusher.check();
    await flusher.stop();
    redis.disconnect();
  });
});

describe('recordProgress while Redis is unreachable', () => {
  it('answers a typed SERVICE_UNAVAILABLE with a retry hint, quickly', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    await enroll(h, A.tenantId, course, learner.userId!);
    // A subgraph of its own whose Redis client is cut off (the shared server keeps running).
    const cut = await startLearning(h.env);
    onTestFinished(() => cut.close());
    cut.deps.redis.disconnect();
    const started = Date.now();
    const r = await call(cut, learner, RECORD, { input: beat(course.lessons.v1, 10, 10) });
    const elapsed = Date.now() - started;
    expect(errorCode(r)).toBe('SERVICE_UNAVAILABLE');
    expect(r.errors?.[0]?.extensions).toMatchObject({ retryAfterSeconds: expect.any(Number) });
    expect(r.body).not.toMatch(/Internal server error|ECONNREFUSED|Connection is closed/);
    // Quickly: well inside the request path's 5 s command timeout (a hang would take all of it).
    expect(elapsed).toBeLessThan(2500);
  });
});
