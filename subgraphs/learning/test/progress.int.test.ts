// Progress through the subgraph: heartbeats and offline sync merging into one state, the
// completion policy emitting LessonCompleted/CourseCompleted exactly once, reads with their
// access rules (learner, instructor of the cohort, ORG_ADMIN; other organizations see
// nothing), bad input, and DataLoader batching (100 enrollments cost what 1 does).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@lectern/kernel/actor';
import { globalId } from '@lectern/kernel';
import { QuizPassed } from '@lectern/contracts/assessment';
import { applyEvent, envelope, seedEnrollments } from '../src/testing/index.ts';
import {
  beat, C, call, drain, E, enroll, errorCode, idem, L, ok, organization, outboxCount, PROGRESS_FIELDS, publishedCourse, RECORD, setInstructors, startHarness, SYNC, U,
  type Course, type Harness,
} from './helpers.ts';

let h: Harness;
const A = organization();
const B = organization();
let course: Course;
let courseB: Course;
/** One flusher for the file, as one worker has (a second would wait for the first one's shard leases). */
let flusher: ReturnType<Harness['flusher']>;

beforeAll(async () => {
  h = await startHarness('learning-progress');
  course = await publishedCourse(h, A.tenantId);
  courseB = await publishedCourse(h, B.tenantId);
  flusher = h.flusher();
});
afterAll(async () => {
  await h?.close();
});

const quizPassed = (tenantId: string, learnerId: string, quizId: string, id?: string) =>
  envelope(QuizPassed, { tenantId, id, payload: { attemptId: randomUUID(), quizId, learnerId, score: 0.9 } });

const progressQuery = `query($id: ID!) { courseProgress(enrollmentId: $id) { ${PROGRESS_FIELDS} } }`;

describe('completion', () => {
  it('completes the course exactly once, however many extra heartbeats, syncs and quiz results arrive (also concurrently)', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    const { enrollmentId } = await enroll(h, A.tenantId, course, learner.userId!);
    // 85 s of each 100 s video, in beats of 17 s.
    for (const lesson of [course.lessons.v1, course.lessons.v2]) {
      for (let p = 17; p <= 85; p += 17) {
        const r = await ok(h, learner, RECORD, { input: beat(lesson, p, 17) });
        expect(r.recordProgress).toEqual({ accepted: true, duplicate: false, errors: [] });
      }
    }
    await drain(h, flusher);
    let state = (await ok(h, learner, progressQuery, { id: E(enrollmentId) })).courseProgress;
    expect(state.status).toBe('IN_PROGRESS');
    expect(state.lessons.slice(0, 2).map((l: { status: string; watchedFraction: number }) => [l.status, l.watchedFraction])).toEqual([['COMPLETED', 0.85], ['COMPLETED', 0.85]]);
    expect(await outboxCount(h, 'learning.CourseCompleted', enrollmentId)).toBe(0);

    // The quiz result, racing a sync and a flush of more beats; then redeliveries.
    const event = quizPassed(A.tenantId, learner.userId!, course.quizId);
    for (let p = 90; p <= 100; p += 5) await ok(h, learner, RECORD, { input: beat(course.lessons.v1, p, 5) });
    await Promise.all([
      applyEvent(h.orm, h.handlers, event),
      applyEvent(h.orm, h.handlers, quizPassed(A.tenantId, learner.userId!, course.quizId)),
      ok(h, learner, SYNC, { input: { deviceId: 'phone-1', idempotencyKey: idem(), items: [{ lessonId: L(course.lessons.v2), position: 100, positionAt: new Date().toISOString(), watchedRanges: [[0, 100]], watchedSeconds: 100, opened: true }] } }),
      drain(h, flusher),
    ]);
    expect(await applyEvent(h.orm, h.handlers, event)).toBe('duplicate');
    state = (await ok(h, learner, progressQuery, { id: E(enrollmentId) })).courseProgress;
    expect(state.status).toBe('COMPLETED');
    expect(state.percent).toBe(100);
    expect(state.completedRequiredLessons).toBe(3);
    expect(await outboxCount(h, 'learning.CourseCompleted', enrollmentId)).toBe(1);
    expect(await outboxCount(h, 'learning.LessonCompleted', enrollmentId)).toBe(3);

    // More of everything changes no completion.
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => ok(h, learner, RECORD, { input: beat(course.lessons.v2, 50 + i, 5, { deviceId: `web-${i % 3}` }) })),
      ...Array.from({ length: 4 }, () => ok(h, learner, SYNC, { input: { deviceId: 'phone-2', idempotencyKey: idem(), items: [{ lessonId: L(course.lessons.v1), position: 3, positionAt: new Date().toISOString(), watchedRanges: [[0, 100]], watchedSeconds: 100, opened: true }] } })),
      applyEvent(h.orm, h.handlers, quizPassed(A.tenantId, learner.userId!, course.quizId)),
    ]);
    await drain(h, flusher);
    expect(await outboxCount(h, 'learning.CourseCompleted', enrollmentId)).toBe(1);
    expect(await outboxCount(h, 'learning.LessonCompleted', enrollmentId)).toBe(3);
    const after = (await ok(h, learner, progressQuery, { id: E(enrollmentId) })).courseProgress;
    expect(after.status).toBe('COMPLETED');
    expect(after.completedAt).toBe(state.completedAt);
  });

  it('completes exactly once when the last two lessons complete in concurrent transactions', async () => {
    for (let round = 0; round < 5; round++) {
      const learner = { ...A.learner, userId: randomUUID() };
      const { enrollmentId } = await enroll(h, A.tenantId, course, learner.userId!);
      await ok(h, learner, SYNC, { input: { deviceId: 'd1', idempotencyKey: idem(), items: [{ lessonId: L(course.lessons.v1), position: 100, positionAt: new Date().toISOString(), watchedRanges: [[0, 100]], watchedSeconds: 100, opened: true }] } });
      await Promise.all([
        ok(h, learner, SYNC, { input: { deviceId: 'd2', idempotencyKey: idem(), items: [{ lessonId: L(course.lessons.v2), position: 100, positionAt: new Date().toISOString(), watchedRanges: [[0, 90]], watchedSeconds: 90, opened: true }] } }),
        applyEvent(h.orm, h.handlers, quizPassed(A.tenantId, learner.userId!, course.quizId)),
      ]);
      expect(await outboxCount(h, 'learning.CourseCompleted', enrollmentId)).toBe(1);
    }
  });

  it('lets an ORG_ADMIN change the policy (idempotently); learners may not', async () => {
    const input = { courseId: C(course.courseId), video: { rule: 'WATCHED_FRACTION', threshold: 0.5 }, idempotencyKey: idem() };
    const m = `mutation($input: SetCompletionPolicyInput!) { setCompletionPolicy(input: $input) { policy { id course { id } custom courseRule video { rule threshold } text { rule } } errors { code } } }`;
    const first = await ok(h, A.admin, m, { input });
    expect(first.setCompletionPolicy.policy).toMatchObject({ course: { id: C(course.courseId) }, custom: true, video: { rule: 'WATCHED_FRACTION', threshold: 0.5 }, text: { rule: 'OPENED' }, courseRule: 'ALL_REQUIRED' });
    expect(first.setCompletionPolicy.policy.id).toBe(globalId('CompletionPolicy', course.courseId));
    expect((await ok(h, A.admin, m, { input })).setCompletionPolicy).toEqual(first.setCompletionPolicy);
    expect(errorCode(await call(h, A.admin, m, { input: { ...input, video: { rule: 'OPENED' } } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await call(h, A.learner, m, { input: { ...input, idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    expect(errorCode(await call(h, A.admin, m, { input: { ...input, idempotencyKey: idem(), video: { rule: 'WATCHED_FRACTION', threshold: 3 } } }))).toBe('BAD_USER_INPUT');

    const learner = { ...A.learner, userId: randomUUID() };
    const { enrollmentId } = await enroll(h, A.tenantId, course, learner.userId!);
    await ok(h, learner, SYNC, { input: { deviceId: 'd1', idempotencyKey: idem(), items: [{ lessonId: L(course.lessons.v1), position: 60, positionAt: new Date().toISOString(), watchedRanges: [[0, 55]], watchedSeconds: 55, opened: true }] } });
    const state = (await ok(h, learner, progressQuery, { id: E(enrollmentId) })).courseProgress;
    expect(state.lessons[0].status).toBe('COMPLETED');
    // Back to the default for the other tests.
    await ok(h, A.admin, m, { input: { ...input, video: { rule: 'WATCHED_FRACTION', threshold: 0.8 }, idempotencyKey: idem() } });
  });
});

describe('offline sync', () => {
  const batchA = (c: Course, t0: number) => [
    { lessonId: L(c.lessons.v1), position: 40, positionAt: new Date(t0 + 1000).toISOString(), watchedRanges: [[0, 30], [50, 70]], watchedSeconds: 50, opened: true },
    { lessonId: L(c.lessons.text), position: 0, positionAt: new Date(t0).toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true },
  ];
  const batchB = (c: Course, t0: number) => [
    { lessonId: L(c.lessons.v1), position: 65, positionAt: new Date(t0 + 1000).toISOString(), watchedRanges: [[20, 60]], watchedSeconds: 40, opened: true },
    { lessonId: L(c.lessons.v2), position: 90, positionAt: new Date(t0 + 5000).toISOString(), watchedRanges: [[0, 85]], watchedSeconds: 85, opened: true },
  ];

  async function fullState(enrollmentId: string) {
    const lessons = await h.admin.query(
      `select lesson_id, status, position, position_at, position_device, watched::text, covered_seconds, watched_seconds, opened, quiz_passed, reported_duration
         from learning.lesson_progress where enrollment_id = $1 order by lesson_id`,
      [enrollmentId],
    );
    const devices = await h.admin.query(`select lesson_id, device_id, hb_seconds, sync_seconds from learning.device_watch where enrollment_id = $1 order by lesson_id, device_id`, [enrollmentId]);
    const course = await h.admin.query(`select status, progress_status from learning.enrollments where id = $1`, [enrollmentId]);
    return { lessons: lessons.rows, devices: devices.rows, course: course.rows };
  }

  it('ends in the same state whichever device syncs first, and a replay changes nothing', async () => {
    const t0 = Date.now() - 60_000;
    const one = { ...A.learner, userId: randomUUID() };
    const two = { ...A.learner, userId: randomUUID() };
    const e1 = (await enroll(h, A.tenantId, course, one.userId!)).enrollmentId;
    const e2 = (await enroll(h, A.tenantId, course, two.userId!)).enrollmentId;
    const sync = (who: typeof one, deviceId: string, items: unknown[], key = idem()) => ok(h, who, SYNC, { input: { deviceId, idempotencyKey: key, items } });
    const keyA = idem();
    await sync(one, 'phone-a', batchA(course, t0), keyA);
    const r1 = await sync(one, 'tablet-b', batchB(course, t0));
    await sync(two, 'tablet-b', batchB(course, t0));
    await sync(two, 'phone-a', batchA(course, t0));
    const s1 = await fullState(e1);
    const s2 = await fullState(e2);
    expect(s1).toEqual(s2);
    // Same positionAt on both devices: the greater device id wins, deterministically.
    const v1 = s1.lessons.find((l) => l.lesson_id === course.lessons.v1)!;
    expect(v1).toMatchObject({ position: 65, position_device: 'tablet-b', watched: '{[0,70)}', covered_seconds: 70, watched_seconds: 90 });
    // The response reports what the server holds.
    const synced = r1.syncProgress.lessons.find((l: { lesson: { id: string } }) => l.lesson.id === L(course.lessons.v1));
    expect(synced).toMatchObject({ id: globalId('LessonProgress', one.userId!, course.lessons.v1), position: 65, watchedSeconds: 90, watchedRanges: [[0, 70]], status: 'IN_PROGRESS' });
    expect(r1.syncProgress.courses[0]).toMatchObject({ id: globalId('CourseProgress', one.userId!, course.courseId), enrollment: { id: E(e1) }, status: 'IN_PROGRESS' });

    // Replays: the same key returns the stored result; the same batch under a new key changes nothing.
    const replay = await sync(one, 'phone-a', batchA(course, t0), keyA);
    expect(replay.syncProgress.errors).toEqual([]);
    await sync(one, 'phone-a', batchA(course, t0));
    await sync(one, 'tablet-b', batchB(course, t0));
    expect(await fullState(e1)).toEqual(s1);

    // A heartbeat merges into the same state: coverage unions, time adds per device.
    await ok(h, one, RECORD, { input: beat(course.lessons.v1, 80, 10, { deviceId: 'web-c', clientTimestamp: new Date(t0 + 2000).toISOString() }) });
    await drain(h, flusher);
    const merged = (await fullState(e1)).lessons.find((l) => l.lesson_id === course.lessons.v1)!;
    expect(merged).toMatchObject({ position: 80, position_device: 'web-c', watched: '{[0,80)}', watched_seconds: 100, status: 'COMPLETED' });
  });

  it('refuses lessons outside the learner\'s enrollments per item and rejects bad input', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    await enroll(h, A.tenantId, course, learner.userId!);
    const r = await ok(h, learner, SYNC, { input: { deviceId: 'd', idempotencyKey: idem(), items: [{ lessonId: L(courseB.lessons.v1), position: 1, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true }] } });
    expect(r.syncProgress.errors).toEqual([{ code: 'NOT_ENROLLED', path: ['input', 'items', '0', 'lessonId'] }]);
    const bad = await call(h, learner, SYNC, { input: { deviceId: 'd', idempotencyKey: idem(), items: [{ lessonId: L(course.lessons.v1), position: 1, positionAt: new Date().toISOString(), watchedRanges: [[10, 5]], watchedSeconds: 0, opened: true }] } });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.body).not.toMatch(/stack|at .*\.ts|select /i);
  });
});

describe('heartbeats: access and input', () => {
  it('refuses a lesson the learner is not enrolled in with a typed error, and bad input with BAD_USER_INPUT', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    await enroll(h, A.tenantId, course, learner.userId!);
    const refused = await ok(h, learner, RECORD, { input: beat(courseB.lessons.v1, 10, 10) });
    expect(refused.recordProgress).toEqual({ accepted: false, duplicate: false, errors: [{ code: 'NOT_ENROLLED', message: expect.any(String), path: ['input', 'lessonId'] }] });
    for (const input of [
      beat(course.lessons.v1, -1, 10),
      beat(course.lessons.v1, 10, 100_000),
      { ...beat(course.lessons.v1, 10, 10), lessonId: 'not-an-id' },
      // A plain UUID, or another type's global id, is not a Lesson id.
      { ...beat(course.lessons.v1, 10, 10), lessonId: course.lessons.v1 },
      { ...beat(course.lessons.v1, 10, 10), lessonId: C(course.courseId) },
      beat(course.lessons.v1, 10, 10, { idempotencyKey: 'x' }),
      beat(course.lessons.v1, 10, 10, { deviceId: '' }),
      beat(course.lessons.v1, 10, 10, { clientTimestamp: '1970-01-01T00:00:00Z' }),
    ]) {
      const r = await call(h, learner, RECORD, { input });
      expect(errorCode(r)).toBe('BAD_USER_INPUT');
      expect(r.body).not.toMatch(/stack|\.ts:\d+|select /i);
    }
    const once = beat(course.lessons.v1, 10, 10);
    expect((await ok(h, learner, RECORD, { input: once })).recordProgress).toEqual({ accepted: true, duplicate: false, errors: [] });
    expect((await ok(h, learner, RECORD, { input: once })).recordProgress).toEqual({ accepted: true, duplicate: true, errors: [] });
    const reused = await call(h, learner, RECORD, { input: { ...once, position: 20 } });
    expect(reused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
    // Without the device's clock, the server's stands in for it.
    const { clientTimestamp: _clock, ...unstamped } = beat(course.lessons.v1, 12, 10);
    expect((await ok(h, learner, RECORD, { input: unstamped })).recordProgress).toEqual({ accepted: true, duplicate: false, errors: [] });
    expect(errorCode(await call(h, A.admin, RECORD, { input: beat(course.lessons.v1, 10, 10) }))).toBeUndefined();
  });

  it('answers a heartbeat from the cache without SQL once the learner is known', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    // Enrolled without the projection's event: its handler drops the learner's cached access
    // once more 2 s after commit (a timer this test would otherwise race).
    await enroll(h, A.tenantId, course, randomUUID()); // learning knows the course version
    await seedEnrollments(h.orm, { tenantId: A.tenantId, courseId: course.courseId, courseVersionId: course.versionId, learnerIds: [learner.userId!] });
    await ok(h, learner, RECORD, { input: beat(course.lessons.v1, 10, 10) });
    const before = h.learning.deps.stats.statements;
    for (let i = 0; i < 5; i++) await ok(h, learner, RECORD, { input: beat(course.lessons.v1, 10 + i, 1) });
    expect(h.learning.deps.stats.statements).toBe(before);
  });
});

describe('reading progress', () => {
  it('shows learners their own, instructors their cohorts\', ORG_ADMIN everything; other organizations nothing', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    const other = { ...A.learner, userId: randomUUID() };
    const teacher = { ...A.instructor, userId: randomUUID() };
    const { enrollmentId, cohortId } = await enroll(h, A.tenantId, course, learner.userId!);
    const otherEnrollment = (await enroll(h, A.tenantId, course, other.userId!)).enrollmentId;
    await setInstructors(h, A.tenantId, cohortId, [teacher.userId!]);
    const read = async (who: Actor, id: string) => (await ok(h, who, progressQuery, { id })).courseProgress;
    const mine = await read(learner, E(enrollmentId));
    expect(mine.learner.id).toBe(U(learner.userId!));
    expect(mine.course.id).toBe(C(course.courseId));
    expect(mine.courseVersion.id).toBe(globalId('CourseVersion', course.versionId));
    expect(mine.lessons.map((l: { lesson: { id: string } }) => l.lesson.id)).toEqual([course.lessons.v1, course.lessons.v2, course.lessons.quiz, course.lessons.text].map(L));
    expect(await read(learner, E(otherEnrollment))).toBeNull();
    expect((await read(teacher, E(enrollmentId))).enrollment.id).toBe(E(enrollmentId));
    expect(await read(teacher, E(otherEnrollment))).toBeNull();
    expect(await read({ ...A.instructor, userId: randomUUID() }, E(enrollmentId))).toBeNull();
    expect((await read(A.admin, E(otherEnrollment))).enrollment.id).toBe(E(otherEnrollment));
    // Organization B, even its admin, sees nothing of A's: by query and through _entities.
    expect(await read(B.admin, E(enrollmentId))).toBeNull();
    const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Enrollment { id progress { enrollment { id } } } ... on Course { id myProgress { enrollment { id } } } } }`;
    const r = [{ __typename: 'Enrollment', id: E(enrollmentId) }, { __typename: 'Course', id: C(course.courseId) }];
    const viaB = await ok(h, { ...B.admin, userId: learner.userId }, entities, { r });
    expect(viaB._entities).toEqual([{ id: E(enrollmentId), progress: null }, { id: C(course.courseId), myProgress: null }]);
    const viaA = await ok(h, learner, entities, { r });
    expect(viaA._entities).toEqual([{ id: E(enrollmentId), progress: { enrollment: { id: E(enrollmentId) } } }, { id: C(course.courseId), myProgress: { enrollment: { id: E(enrollmentId) } } }]);
    // Malformed ids, plain UUIDs and other types' ids name nothing.
    for (const id of ['nope', enrollmentId, C(course.courseId)]) expect((await call(h, learner, progressQuery, { id })).data?.courseProgress).toBeNull();
  });

  it('costs the same SQL statements for 100 enrollments\' progress as for 1', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await enroll(h, A.tenantId, course, randomUUID())).enrollmentId);
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Enrollment { id progress { ${PROGRESS_FIELDS} } } } }`;
    const cost = async (list: string[]) => {
      const before = h.learning.deps.stats.statements;
      const r = await ok(h, A.admin, q, { r: list.map((id) => ({ __typename: 'Enrollment', id: E(id) })) });
      expect(r._entities.every((e: { progress: unknown }) => e.progress !== null)).toBe(true);
      return h.learning.deps.stats.statements - before;
    };
    const one = await cost(ids.slice(0, 1));
    expect(await cost(ids)).toBe(one);
  });
});
