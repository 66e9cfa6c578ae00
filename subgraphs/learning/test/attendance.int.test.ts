// The completion policy's live attendance requirement ("attended at least N % of a session"):
// set through the graph, fed by live's AttendanceRecorded as the consumer applies it (once per
// event id, in the event's organization), evaluated by the progress statement. States are read
// back from the tables, events from the outbox.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant } from '@lectern/kernel';
import { LearnerEnrolled } from '@lectern/contracts/enrollment';
import { AttendanceRecorded } from '@lectern/contracts/live';
import { CourseCompleted } from '@lectern/contracts/learning';
import { tenantTablesWithoutRls } from '@lectern/kernel/db';
import { applyProgress, noFacts } from '../src/modules/progress/progress.store.ts';
import { applyEvent, envelope } from '../src/testing/index.ts';
import { C, call, errorCode, idem, ok, organization, seedPublished, startHarness, type Harness } from './helpers.ts';

let h: Harness;
const A = organization();
const B = organization();
/** Two required text lessons (opening one completes it). */
let texts: Awaited<ReturnType<typeof seedPublished>>;

beforeAll(async () => {
  h = await startHarness('learning-attendance');
  texts = await seedPublished(h, A.tenantId, [
    { title: 'Required one', kind: 'TEXT' },
    { title: 'Required two', kind: 'TEXT' },
  ]);
});
afterAll(async () => {
  await h?.close();
});

const SET = `mutation($input: SetCompletionPolicyInput!) { setCompletionPolicy(input: $input) {
  policy { courseRule minSessionAttendancePercent } errors { code } } }`;
const GET = `query($id: ID!) { completionPolicy(courseId: $id) { courseRule minSessionAttendancePercent } }`;

/** A course of its own per test (policies are per course), requiring `percent` % of a session. */
async function courseRequiring(percent: number) {
  const course = await seedPublished(h, A.tenantId, [
    { title: 'Required one', kind: 'TEXT' },
    { title: 'Required two', kind: 'TEXT' },
  ]);
  const set = await ok(h, A.admin, SET, { input: { courseId: C(course.courseId), minSessionAttendancePercent: percent, idempotencyKey: idem() } });
  expect(set.setCompletionPolicy).toEqual({ policy: { courseRule: 'ALL_REQUIRED', minSessionAttendancePercent: percent }, errors: [] });
  return course;
}

/** Enrolls a learner of A in `course` within `offeringId` (LearnerEnrolled through the projection). */
async function enrollIn(course: { courseId: string; versionId: string }, offeringId: string, learnerId = randomUUID()) {
  const enrollmentId = randomUUID();
  await applyEvent(
    h.orm,
    h.handlers,
    envelope(LearnerEnrolled, {
      tenantId: A.tenantId,
      aggregateId: enrollmentId,
      payload: { enrollmentId, learnerId, offeringId, cohortId: randomUUID(), courseId: course.courseId, courseVersionId: course.versionId, promotedFromWaitlist: false },
    }),
  );
  return { enrollmentId, learnerId };
}

/** Opens every lesson of the course (the course rule then holds), as the flusher applies progress. */
const finishLessons = (enrollmentId: string, lessonIds: string[]) =>
  inTenant(h.orm, A.tenantId, async (uow) =>
    applyProgress(
      await uow.em(),
      A.tenantId,
      lessonIds.map((l) => ({ ...noFacts(enrollmentId, l), opened: true })),
    ),
  );

type Attendee = { userId: string; role?: 'LEARNER' | 'INSTRUCTOR' | 'ORG_ADMIN'; percent: number };
/** An AttendanceRecorded of a one-hour session, as live's outbox records it. */
const attendance = (tenantId: string, offeringId: string, attendees: Attendee[], sessionId = randomUUID()) =>
  envelope(AttendanceRecorded, {
    tenantId,
    aggregateId: sessionId,
    payload: {
      sessionId,
      offeringId,
      startedAt: '2026-11-30T09:00:00.000Z',
      endedAt: '2026-11-30T10:00:00.000Z',
      durationSeconds: 3600,
      attendees: attendees.map((a) => ({ userId: a.userId, role: a.role ?? 'LEARNER', attendedSeconds: a.percent * 36, percent: a.percent })),
    },
  });

async function courseStatus(enrollmentId: string) {
  const { rows } = await h.admin.query('select progress_status from learning.enrollments where id = $1', [enrollmentId]);
  return rows[0].progress_status as string;
}
const completions = async (enrollmentId: string) =>
  (await h.admin.query('select count(*)::int as n from learning.outbox where type = $1 and aggregate_id = $2', [CourseCompleted.type, enrollmentId])).rows[0].n as number;

describe('the attendance requirement of a completion policy', () => {
  it('is none by default, set and removed by an ORG_ADMIN, 1 to 100 only, kept when left out', async () => {
    const id = C(texts.courseId);
    expect((await ok(h, A.learner, GET, { id })).completionPolicy).toEqual({ courseRule: 'ALL_REQUIRED', minSessionAttendancePercent: null });
    for (const bad of [0, 101, -5]) {
      expect(errorCode(await call(h, A.admin, SET, { input: { courseId: id, minSessionAttendancePercent: bad, idempotencyKey: idem() } }))).toBe('BAD_USER_INPUT');
    }
    expect(errorCode(await call(h, A.learner, SET, { input: { courseId: id, minSessionAttendancePercent: 50, idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    await ok(h, A.admin, SET, { input: { courseId: id, minSessionAttendancePercent: 75, idempotencyKey: idem() } });
    // Another change leaves it out: it stays.
    const kept = await ok(h, A.admin, SET, { input: { courseId: id, courseRule: 'ALL_LESSONS', idempotencyKey: idem() } });
    expect(kept.setCompletionPolicy.policy).toEqual({ courseRule: 'ALL_LESSONS', minSessionAttendancePercent: 75 });
    expect((await ok(h, A.learner, GET, { id })).completionPolicy).toEqual({ courseRule: 'ALL_LESSONS', minSessionAttendancePercent: 75 });
    // null removes it.
    const removed = await ok(h, A.admin, SET, { input: { courseId: id, minSessionAttendancePercent: null, idempotencyKey: idem() } });
    expect(removed.setCompletionPolicy.policy).toEqual({ courseRule: 'ALL_LESSONS', minSessionAttendancePercent: null });
  });

  it('holds back a learner who finished every lesson until they attend enough of one session, then completes them once', async () => {
    const course = await courseRequiring(50);
    const offeringId = randomUUID();
    const { enrollmentId, learnerId } = await enrollIn(course, offeringId);
    expect(await finishLessons(enrollmentId, course.lessonIds)).toEqual({ lessonsCompleted: 2, coursesCompleted: 0 });
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');

    // Below the bar in each of two sessions (they do not add up): still not complete.
    expect(await applyEvent(h.orm, h.handlers, attendance(A.tenantId, offeringId, [{ userId: learnerId, percent: 49 }]))).toBe('processed');
    expect(await applyEvent(h.orm, h.handlers, attendance(A.tenantId, offeringId, [{ userId: learnerId, percent: 30 }]))).toBe('processed');
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
    expect(await completions(enrollmentId)).toBe(0);

    // Exactly the bar: complete, announced once.
    const enough = attendance(A.tenantId, offeringId, [{ userId: learnerId, percent: 50 }]);
    expect(await applyEvent(h.orm, h.handlers, enough)).toBe('processed');
    expect(await courseStatus(enrollmentId)).toBe('COMPLETED');
    expect(await completions(enrollmentId)).toBe(1);

    // The same event redelivered, the same report re-sent under a new event id, another
    // session attended in full and more progress: nothing more.
    expect(await applyEvent(h.orm, h.handlers, enough)).toBe('duplicate');
    await applyEvent(h.orm, h.handlers, { ...enough, id: randomUUID() });
    await applyEvent(h.orm, h.handlers, attendance(A.tenantId, offeringId, [{ userId: learnerId, percent: 100 }]));
    await finishLessons(enrollmentId, course.lessonIds);
    expect(await courseStatus(enrollmentId)).toBe('COMPLETED');
    expect(await completions(enrollmentId)).toBe(1);
    const { rows } = await h.admin.query('select count(*)::int as n from learning.session_attendance where tenant_id = $1 and learner_id = $2', [A.tenantId, learnerId]);
    expect(rows[0].n).toBe(4);
  });

  it('completes on the last lesson when the attendance came first, and never before the course rule holds', async () => {
    const course = await courseRequiring(80);
    const offeringId = randomUUID();
    const { enrollmentId, learnerId } = await enrollIn(course, offeringId);
    const [one, two] = course.lessonIds as [string, string];
    await finishLessons(enrollmentId, [one]);
    await applyEvent(h.orm, h.handlers, attendance(A.tenantId, offeringId, [{ userId: learnerId, percent: 95 }]));
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
    expect(await finishLessons(enrollmentId, [two])).toEqual({ lessonsCompleted: 1, coursesCompleted: 1 });
    expect(await courseStatus(enrollmentId)).toBe('COMPLETED');
    expect(await completions(enrollmentId)).toBe(1);
  });

  it('counts only the learner’s own attendance as a learner, in their offering and their organization', async () => {
    const course = await courseRequiring(50);
    const offeringId = randomUUID();
    const { enrollmentId, learnerId } = await enrollIn(course, offeringId);
    await finishLessons(enrollmentId, course.lessonIds);
    const classmate = await enrollIn(course, offeringId);
    // Another organization's report naming the same offering and person (ids are UUIDs; a
    // forged or colliding one must still count nothing here), another offering of the course,
    // the same person attending as an instructor, and a classmate's full attendance.
    expect(await applyEvent(h.orm, h.handlers, attendance(B.tenantId, offeringId, [{ userId: learnerId, percent: 100 }]))).toBe('processed');
    await applyEvent(h.orm, h.handlers, attendance(A.tenantId, randomUUID(), [{ userId: learnerId, percent: 100 }]));
    await applyEvent(h.orm, h.handlers, attendance(A.tenantId, offeringId, [{ userId: learnerId, role: 'INSTRUCTOR', percent: 100 }, { userId: classmate.learnerId, percent: 100 }]));
    // Any later progress re-evaluates the course: still held back.
    await finishLessons(enrollmentId, course.lessonIds);
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
    expect(await completions(enrollmentId)).toBe(0);
    // B's row is B's (RLS and the statement's tenant_id); A's learner then attends for real.
    const { rows } = await h.admin.query('select tenant_id from learning.session_attendance where learner_id = $1 and offering_id = $2', [learnerId, offeringId]);
    expect(rows).toEqual([{ tenant_id: B.tenantId }]);
    await applyEvent(h.orm, h.handlers, attendance(A.tenantId, offeringId, [{ userId: learnerId, percent: 60 }]));
    expect(await courseStatus(enrollmentId)).toBe('COMPLETED');
    expect(await completions(enrollmentId)).toBe(1);
  });

  it('keeps session_attendance under forced row-level security', async () => {
    expect(await tenantTablesWithoutRls(h.admin, 'learning')).toEqual([]);
  });
});
