// Shared set-up of the learning integration tests: a fresh database per file (catalog and
// learning schemas), catalog started in-process (its course-structure endpoint is real),
// the learning subgraph on it, and the projection handlers applied as the consumer would.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Role } from '@lectern/kernel/actor';
import { globalId } from '@lectern/kernel';
import type { EventHandler } from '@lectern/kernel/consumers';
import { createOrm } from '@lectern/kernel/orm';
import { createRedis, waitForRedis } from '@lectern/kernel/redis';
import { createLogger } from '@lectern/kernel/logger';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { actor, createTestDatabase, idem, type TestDatabase, adminPool, dropRedisKeys } from '@lectern/testkit';
export { call, errorCode, ok } from '@lectern/testkit';
import { loadEnv as catalogEnv, migrations as catalogMigrations, startCatalog } from '@lectern/catalog/server';
import { seedCourse, type LessonSeed } from '@lectern/catalog/testing';
import { LearnerEnrolled, CohortInstructorsChanged } from '@lectern/contracts/enrollment';
import { loadEnv, startLearning, type LearningEnv } from '../src/server.ts';
import { migrations } from '../src/migrations/index.ts';
import { entities } from '../src/modules/progress/progress.entity.ts';
import { AccessCache, applyEvent, catalogClient, envelope, HeartbeatFlusher, projectionHandlers } from '../src/testing/index.ts';

export { idem };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface Harness {
  db: TestDatabase;
  env: LearningEnv;
  catalog: RunningSubgraph<Parameters<typeof startCatalog>[0]>;
  learning: RunningSubgraph<LearningEnv>;
  url: string;
  /** The learning runtime role's ORM, as the worker has it (handlers, flushers). */
  orm: MikroORM;
  /** Statements sent through `orm`. */
  stats: { statements: number };
  /** Statements sent by the flushers `flusher()` builds (their own ORM, as in the worker). */
  flushStats: { statements: number };
  /** A Redis client without keyPrefix (as the worker's). */
  redis: Redis;
  handlers: EventHandler[];
  admin: pg.Pool;
  flusher(opts?: Partial<ConstructorParameters<typeof HeartbeatFlusher>[0]>): HeartbeatFlusher;
  close(): Promise<void>;
}

export async function startHarness(label: string): Promise<Harness> {
  const db = await createTestDatabase({ catalog: catalogMigrations, learning: migrations }, label);
  const cleanups: (() => Promise<unknown>)[] = [() => db.drop()];
  const close = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  try {
    const catalog = await startCatalog(catalogEnv({ ...db.env }));
    cleanups.push(() => catalog.close());
    const env = loadEnv({ ...db.env, CATALOG_URL: catalog.url, WORKER_PORT: '0' });
    const learning = await startLearning(env);
    cleanups.push(() => learning.close());
    const stats = { statements: 0 };
    const orm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: 'learning', entities, poolMax: 8, onStatement: () => void stats.statements++ });
    cleanups.push(() => orm.close());
    const flushStats = { statements: 0 };
    const flushOrm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: 'learning', entities, poolMax: 4, onStatement: () => void flushStats.statements++ });
    cleanups.push(() => flushOrm.close());
    const redis = createRedis(env.REDIS_URL);
    await waitForRedis(redis, env.REDIS_URL);
    cleanups.push(() => dropRedisKeys(redis, env.REDIS_PREFIX));
    const handlers = projectionHandlers({ catalog: catalogClient(env), access: new AccessCache(redis, env.REDIS_PREFIX) });
    const admin = adminPool(db, 3);
    cleanups.push(() => admin.end());
    const log = createLogger('learning-test', env.LOG_LEVEL);
    const flusher = (opts: Partial<ConstructorParameters<typeof HeartbeatFlusher>[0]> = {}) =>
      new HeartbeatFlusher({ orm: flushOrm, redis, prefix: env.REDIS_PREFIX, log, intervalMs: 50, leaseMs: 1000, ...opts });
    return { db, env, catalog, learning, url: learning.url, orm, stats, flushStats, redis, handlers, admin, flusher, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export const VIDEO_SECONDS = 100;

/** A published course of `lessons` (one module): its ids, the lessons' in order. */
export async function seedPublished(h: Harness, tenantId: string, lessons: LessonSeed[]) {
  const course = await seedCourse(h.catalog.deps.orm, { tenantId, authorId: randomUUID(), published: true, modules: [{ title: 'Only module', lessons }] });
  const versionId = await catalogClient(h.env).publishedVersionId(tenantId, course.id);
  if (!versionId) throw new Error('course not published');
  return { courseId: course.id, versionId, lessonIds: course.modules[0]!.lessons.map((l) => l.id) };
}

/** A published course: two required videos (100 s), a required quiz, an optional text lesson. */
export async function publishedCourse(h: Harness, tenantId: string) {
  const quizId = randomUUID();
  const { courseId, versionId, lessonIds } = await seedPublished(h, tenantId, [
    { title: 'Video one', kind: 'VIDEO', durationSeconds: VIDEO_SECONDS },
    { title: 'Video two', kind: 'VIDEO', durationSeconds: VIDEO_SECONDS },
    { title: 'Quiz', kind: 'QUIZ', quizId },
    { title: 'Reading', kind: 'TEXT', required: false },
  ]);
  const [v1, v2, quiz, text] = lessonIds as [string, string, string, string];
  return { courseId, versionId, quizId, lessons: { v1, v2, quiz, text } };
}
export type Course = Awaited<ReturnType<typeof publishedCourse>>;

/** Enrolls `learnerId` through the projection (LearnerEnrolled as enrollment emits it). */
export async function enroll(h: Harness, tenantId: string, course: Pick<Course, 'courseId' | 'versionId'>, learnerId: string, cohortId = randomUUID()) {
  const enrollmentId = randomUUID();
  await applyEvent(
    h.orm,
    h.handlers,
    envelope(LearnerEnrolled, {
      tenantId,
      aggregateId: enrollmentId,
      payload: { enrollmentId, learnerId, offeringId: randomUUID(), cohortId, courseId: course.courseId, courseVersionId: course.versionId, promotedFromWaitlist: false },
    }),
  );
  return { enrollmentId, cohortId };
}

export async function setInstructors(h: Harness, tenantId: string, cohortId: string, instructorIds: string[]) {
  await applyEvent(h.orm, h.handlers, envelope(CohortInstructorsChanged, { tenantId, aggregateId: cohortId, payload: { cohortId, offeringId: randomUUID(), instructorIds } }));
}

export function organization() {
  const tenantId = randomUUID();
  const member = (roles: Role[]) => actor({ tenantId, roles });
  return { tenantId, admin: member(['ORG_ADMIN']), instructor: member(['INSTRUCTOR']), learner: member(['LEARNER']), learner2: member(['LEARNER']) };
}


/** Global ids of the objects tests name by their plain UUIDs (the API sends and answers only these). */
export const L = (lessonId: string) => globalId('Lesson', lessonId);
export const E = (enrollmentId: string) => globalId('Enrollment', enrollmentId);
export const C = (courseId: string) => globalId('Course', courseId);
export const U = (userId: string) => globalId('User', userId);

export const RECORD = `mutation($input: RecordProgressInput!) { recordProgress(input: $input) { accepted duplicate errors { code message path } } }`;
export const SYNC = `mutation($input: SyncProgressInput!) { syncProgress(input: $input) {
  lessons { id lesson { id } status position watchedSeconds watchedFraction watchedRanges completedAt }
  courses { id enrollment { id } status percent completedRequiredLessons requiredLessons }
  errors { code path } } }`;
export const PROGRESS_FIELDS = `id enrollment { id } status percent requiredLessons completedRequiredLessons watchedSeconds completedAt learner { id } course { id } courseVersion { id }
  lessons { id lesson { id } required status position watchedSeconds watchedFraction watchedRanges completedAt }`;

/** A heartbeat input (`lessonId`: the lesson's plain UUID, sent as its global id). */
export const beat = (lessonId: string, position: number, secondsWatched: number, extra: Record<string, unknown> = {}) => ({
  lessonId: L(lessonId),
  position,
  secondsWatched,
  clientTimestamp: new Date().toISOString(),
  deviceId: 'web-1',
  idempotencyKey: idem(),
  ...extra,
});

/** Outbox rows of `type` for an enrollment (superuser: sees every tenant). */
export async function outboxCount(h: Harness, type: string, enrollmentId: string): Promise<number> {
  const { rows } = await h.admin.query('select count(*)::int as n from learning.outbox where type = $1 and aggregate_id = $2', [type, enrollmentId]);
  return rows[0].n;
}

/** Runs flushers until the buffer is empty. */
export async function drain(h: Harness, flusher: HeartbeatFlusher) {
  for (let i = 0; i < 100; i++) if ((await flusher.flushOnce()).entries === 0) return;
  throw new Error('buffer did not drain');
}

