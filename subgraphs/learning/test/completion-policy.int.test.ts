// The completion policy, tested where it runs: facts go through applyProgress (the one
// statement the heartbeat flusher, offline sync and QuizPassed all write progress with) on
// PostgreSQL, in a unit of work as the flusher opens one; states are read back from the
// tables, events from the outbox. The states and rules are described in progress.store.ts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant } from '@lectern/kernel';
import { EnrollmentDropped } from '@lectern/contracts/enrollment';
import { QuizPassed } from '@lectern/contracts/assessment';
import { CourseCompleted, LessonCompleted } from '@lectern/contracts/learning';
import { applyProgress, noFacts, type LessonFactsInput } from '../src/modules/progress/progress.store.ts';
import { applyEvent, envelope } from '../src/testing/index.ts';
import { C, enroll, idem, ok, organization, seedPublished, startHarness, type Harness } from './helpers.ts';

let h: Harness;
const A = organization();

type Published = Awaited<ReturnType<typeof seedPublished>>;
/** Every lesson kind; the second video has no catalog duration. */
let kinds: Published & { quizId: string };
/** Two required text lessons and an optional one. */
let texts: Published;

beforeAll(async () => {
  h = await startHarness('learning-policy');
  const quizId = randomUUID();
  kinds = {
    quizId,
    ...(await seedPublished(h, A.tenantId, [
      { title: 'Video', kind: 'VIDEO', durationSeconds: 100 },
      { title: 'Unmeasured video', kind: 'VIDEO' },
      { title: 'Quiz', kind: 'QUIZ', quizId },
      { title: 'Reading', kind: 'TEXT' },
      { title: 'Elsewhere', kind: 'EXTERNAL', externalUrl: 'https://example.org/lesson' },
    ])),
  };
  texts = await publishedTexts();
});
afterAll(async () => {
  await h?.close();
});

const publishedTexts = () =>
  seedPublished(h, A.tenantId, [
    { title: 'Required one', kind: 'TEXT' },
    { title: 'Required two', kind: 'TEXT' },
    { title: 'Optional', kind: 'TEXT', required: false },
  ]);

async function learner(course: Published) {
  const learnerId = randomUUID();
  const { enrollmentId, cohortId } = await enroll(h, A.tenantId, course, learnerId);
  return { enrollmentId, learnerId, cohortId };
}

type Facts = Partial<Omit<LessonFactsInput, 'enrollmentId' | 'lessonId'>>;
const fact = (enrollmentId: string, lessonId: string, f: Facts = {}): LessonFactsInput => ({ ...noFacts(enrollmentId, lessonId), ...f });
const watched = (...ranges: [number, number][]): Facts => ({ ranges });
const at = (position: number): Facts => ({ position, positionAt: new Date().toISOString(), positionDevice: 'web-1' });
const opened: Facts = { opened: true };

/** Applies facts as the flusher does: one unit of work of the organization, one call. */
const apply = (...facts: LessonFactsInput[]) => inTenant(h.orm, A.tenantId, async (uow) => applyProgress(await uow.em(), A.tenantId, facts));

async function lessonState(enrollmentId: string, lessonId: string) {
  const { rows } = await h.admin.query('select status, completed_at from learning.lesson_progress where enrollment_id = $1 and lesson_id = $2', [enrollmentId, lessonId]);
  return rows[0] as { status: string; completed_at: Date | null } | undefined;
}
const lessonStatus = async (enrollmentId: string, lessonId: string) => (await lessonState(enrollmentId, lessonId))?.status;
async function courseState(enrollmentId: string) {
  const { rows } = await h.admin.query('select progress_status as status, completed_at from learning.enrollments where id = $1', [enrollmentId]);
  return rows[0] as { status: string; completed_at: Date | null };
}
const courseStatus = async (enrollmentId: string) => (await courseState(enrollmentId)).status;
/** The outbox rows of an enrollment, oldest first (superuser: the test reads every tenant). */
async function events(enrollmentId: string) {
  const { rows } = await h.admin.query(
    'select type, version, tenant_id, aggregate_type, payload from learning.outbox where aggregate_id = $1 order by occurred_at, type desc',
    [enrollmentId],
  );
  return rows as { type: string; version: number; tenant_id: string; aggregate_type: string; payload: Record<string, string> }[];
}
const types = async (enrollmentId: string) => (await events(enrollmentId)).map((e) => e.type).sort();

const POLICY = `mutation($input: SetCompletionPolicyInput!) { setCompletionPolicy(input: $input) { errors { code } } }`;
const setPolicy = async (courseId: string, rules: Record<string, unknown>) =>
  expect((await ok(h, A.admin, POLICY, { input: { courseId: C(courseId), ...rules, idempotencyKey: idem() } })).setCompletionPolicy.errors).toEqual([]);

describe('a lesson', () => {
  it('stays NOT_STARTED without activity, and so does its course', async () => {
    const { enrollmentId } = await learner(kinds);
    const [video] = kinds.lessonIds as [string];
    expect(await apply(fact(enrollmentId, video))).toEqual({ lessonsCompleted: 0, coursesCompleted: 0 });
    expect(await lessonStatus(enrollmentId, video)).toBe('NOT_STARTED');
    expect(await courseStatus(enrollmentId)).toBe('NOT_STARTED');
    expect(await events(enrollmentId)).toEqual([]);
  });

  it('moves to IN_PROGRESS on activity short of its rule: a watched second, a position, an opened quiz', async () => {
    const [video, , quiz] = kinds.lessonIds as [string, string, string];
    const one = await learner(kinds);
    await apply(fact(one.enrollmentId, video, watched([0, 79])));
    expect(await lessonStatus(one.enrollmentId, video)).toBe('IN_PROGRESS');
    expect(await courseStatus(one.enrollmentId)).toBe('IN_PROGRESS');
    const two = await learner(kinds);
    await apply(fact(two.enrollmentId, video, at(10)), fact(two.enrollmentId, quiz, opened));
    expect(await lessonStatus(two.enrollmentId, video)).toBe('IN_PROGRESS');
    expect(await lessonStatus(two.enrollmentId, quiz)).toBe('IN_PROGRESS');
    expect(await courseStatus(two.enrollmentId)).toBe('IN_PROGRESS');
    expect(await events(one.enrollmentId)).toEqual([]);
    expect(await events(two.enrollmentId)).toEqual([]);
  });

  it('completes a VIDEO at 80 % of its catalog duration, each second counted once, and says so once', async () => {
    const [video] = kinds.lessonIds as [string];
    const { enrollmentId, learnerId } = await learner(kinds);
    await apply(fact(enrollmentId, video, watched([0, 40])));
    await apply(fact(enrollmentId, video, watched([30, 79])));
    expect(await lessonStatus(enrollmentId, video)).toBe('IN_PROGRESS');
    // Watching the same 79 s again adds nothing.
    await apply(fact(enrollmentId, video, watched([0, 79])));
    expect(await lessonStatus(enrollmentId, video)).toBe('IN_PROGRESS');
    expect(await apply(fact(enrollmentId, video, watched([79, 80])))).toEqual({ lessonsCompleted: 1, coursesCompleted: 0 });
    expect(await lessonStatus(enrollmentId, video)).toBe('COMPLETED');
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
    // The event, as the contract has it (through the kernel's outbox), once.
    expect(await apply(fact(enrollmentId, video, watched([0, 100])))).toEqual({ lessonsCompleted: 0, coursesCompleted: 0 });
    const [event, ...more] = await events(enrollmentId);
    expect(more).toEqual([]);
    const { rows } = await h.admin.query('select lineage_id from learning.version_lessons where version_id = $1 and lesson_id = $2', [kinds.versionId, video]);
    expect(event).toEqual({
      type: LessonCompleted.type,
      version: LessonCompleted.version,
      tenant_id: A.tenantId,
      aggregate_type: 'enrollment',
      payload: { enrollmentId, learnerId, courseId: kinds.courseId, courseVersionId: kinds.versionId, lessonId: video, lineageId: rows[0].lineage_id },
    });
    expect(LessonCompleted.payload.parse(event!.payload)).toEqual(event!.payload);
  });

  it('measures a VIDEO without catalog duration against the player’s, and completes it on any watching when neither is known', async () => {
    const unmeasured = kinds.lessonIds[1]!;
    const one = await learner(kinds);
    await apply(fact(one.enrollmentId, unmeasured, { ...watched([0, 39]), reportedDuration: 50 }));
    expect(await lessonStatus(one.enrollmentId, unmeasured)).toBe('IN_PROGRESS');
    // The longest reported duration stays (a shorter report later does not lower the bar).
    await apply(fact(one.enrollmentId, unmeasured, { reportedDuration: 10 }));
    expect(await lessonStatus(one.enrollmentId, unmeasured)).toBe('IN_PROGRESS');
    await apply(fact(one.enrollmentId, unmeasured, watched([39, 40])));
    expect(await lessonStatus(one.enrollmentId, unmeasured)).toBe('COMPLETED');

    const two = await learner(kinds);
    await apply(fact(two.enrollmentId, unmeasured, watched([0, 1])));
    expect(await lessonStatus(two.enrollmentId, unmeasured)).toBe('COMPLETED');
    expect(await types(two.enrollmentId)).toEqual([LessonCompleted.type]);
  });

  it('completes TEXT and EXTERNAL when opened, a QUIZ only when passed', async () => {
    const [, , quiz, text, external] = kinds.lessonIds as [string, string, string, string, string];
    const { enrollmentId, learnerId } = await learner(kinds);
    await apply(fact(enrollmentId, text, opened), fact(enrollmentId, external, opened), fact(enrollmentId, quiz, opened));
    expect(await lessonStatus(enrollmentId, text)).toBe('COMPLETED');
    expect(await lessonStatus(enrollmentId, external)).toBe('COMPLETED');
    expect(await lessonStatus(enrollmentId, quiz)).toBe('IN_PROGRESS');
    // QuizPassed, as the projection consumes it, goes through the same statement.
    await applyEvent(h.orm, h.handlers, envelope(QuizPassed, { tenantId: A.tenantId, payload: { attemptId: randomUUID(), quizId: kinds.quizId, learnerId, score: 0.9 } }));
    expect(await lessonStatus(enrollmentId, quiz)).toBe('COMPLETED');
    expect(await types(enrollmentId)).toEqual([LessonCompleted.type, LessonCompleted.type, LessonCompleted.type]);
  });

  it('follows a changed policy (rules are data) from the next progress on', async () => {
    const course = await seedPublished(h, A.tenantId, [{ title: 'Video', kind: 'VIDEO', durationSeconds: 100 }]);
    const [video] = course.lessonIds as [string];
    const { enrollmentId } = await learner(course);
    await apply(fact(enrollmentId, video, { ...at(10), ...opened }));
    expect(await lessonStatus(enrollmentId, video)).toBe('IN_PROGRESS');
    await setPolicy(course.courseId, { video: { rule: 'OPENED' } });
    expect(await lessonStatus(enrollmentId, video)).toBe('IN_PROGRESS');
    await apply(fact(enrollmentId, video, opened));
    expect(await lessonStatus(enrollmentId, video)).toBe('COMPLETED');
    expect(await courseStatus(enrollmentId)).toBe('COMPLETED');
  });

  it('takes the default for whatever a stored policy leaves out, as the policy is read and shown', async () => {
    const course = await seedPublished(h, A.tenantId, [
      { title: 'Video', kind: 'VIDEO', durationSeconds: 100 },
      { title: 'Reading', kind: 'TEXT' },
    ]);
    const [video, text] = course.lessonIds as [string, string];
    // A row with one rule only (written before a kind or rule existed, say): the rest is the default.
    await h.admin.query(`insert into learning.completion_policies (tenant_id, course_id, rules) values ($1, $2, '{"TEXT": {"rule": "PASSED"}}')`, [A.tenantId, course.courseId]);
    const { enrollmentId } = await learner(course);
    await apply(fact(enrollmentId, video, watched([0, 80])), fact(enrollmentId, text, opened));
    expect(await lessonStatus(enrollmentId, video)).toBe('COMPLETED');
    expect(await lessonStatus(enrollmentId, text)).toBe('IN_PROGRESS');
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
  });

  it('completes nothing for a DROPPED enrollment', async () => {
    const [one, two] = texts.lessonIds as [string, string];
    const { enrollmentId, learnerId, cohortId } = await learner(texts);
    await applyEvent(
      h.orm,
      h.handlers,
      envelope(EnrollmentDropped, {
        tenantId: A.tenantId,
        aggregateId: enrollmentId,
        payload: { enrollmentId, learnerId, offeringId: randomUUID(), cohortId, courseId: texts.courseId, courseVersionId: texts.versionId, wasActive: true, droppedBy: null },
      }),
    );
    expect(await apply(fact(enrollmentId, one, opened), fact(enrollmentId, two, opened))).toEqual({ lessonsCompleted: 0, coursesCompleted: 0 });
    expect(await lessonStatus(enrollmentId, one)).toBe('IN_PROGRESS');
    expect(await courseStatus(enrollmentId)).toBe('NOT_STARTED');
    expect(await events(enrollmentId)).toEqual([]);
  });
});

describe('a course', () => {
  it('starts with its first started lesson, optional or not', async () => {
    const [one, , optional] = texts.lessonIds as [string, string, string];
    const { enrollmentId } = await learner(texts);
    await apply(fact(enrollmentId, one));
    expect(await courseStatus(enrollmentId)).toBe('NOT_STARTED');
    await apply(fact(enrollmentId, optional, opened));
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
  });

  it('completes when every required lesson is complete (ALL_REQUIRED, optional ones aside), and says so once', async () => {
    const [one, two, optional] = texts.lessonIds as [string, string, string];
    const { enrollmentId, learnerId } = await learner(texts);
    await apply(fact(enrollmentId, one, opened));
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
    expect(await apply(fact(enrollmentId, two, opened))).toEqual({ lessonsCompleted: 1, coursesCompleted: 1 });
    expect(await courseStatus(enrollmentId)).toBe('COMPLETED');
    expect(await lessonStatus(enrollmentId, optional)).toBeUndefined();
    // Replays and the optional lesson: one more LessonCompleted (the optional one), no second CourseCompleted.
    await apply(fact(enrollmentId, one, opened), fact(enrollmentId, two, opened));
    await apply(fact(enrollmentId, optional, opened), fact(enrollmentId, two, opened));
    expect(await types(enrollmentId)).toEqual([CourseCompleted.type, LessonCompleted.type, LessonCompleted.type, LessonCompleted.type]);
    const course = (await events(enrollmentId)).find((e) => e.type === CourseCompleted.type)!;
    expect(course).toMatchObject({ version: CourseCompleted.version, tenant_id: A.tenantId, aggregate_type: 'enrollment' });
    expect(course.payload).toEqual({ enrollmentId, learnerId, courseId: texts.courseId, courseVersionId: texts.versionId });
  });

  it('announces a lesson and its course once each when one call completes several lessons and the course', async () => {
    const [one, two] = texts.lessonIds as [string, string];
    const { enrollmentId } = await learner(texts);
    expect(await apply(fact(enrollmentId, one, opened), fact(enrollmentId, two, opened))).toEqual({ lessonsCompleted: 2, coursesCompleted: 1 });
    expect(await types(enrollmentId)).toEqual([CourseCompleted.type, LessonCompleted.type, LessonCompleted.type]);
  });

  it('counts optional lessons under ALL_LESSONS', async () => {
    const course = await publishedTexts();
    await setPolicy(course.courseId, { courseRule: 'ALL_LESSONS' });
    const [one, two, optional] = course.lessonIds as [string, string, string];
    const { enrollmentId } = await learner(course);
    await apply(fact(enrollmentId, one, opened), fact(enrollmentId, two, opened));
    expect(await courseStatus(enrollmentId)).toBe('IN_PROGRESS');
    await apply(fact(enrollmentId, optional, opened));
    expect(await courseStatus(enrollmentId)).toBe('COMPLETED');
  });

  it('never leaves COMPLETED (lesson or course), whatever facts or stricter policy come later', async () => {
    const course = await seedPublished(h, A.tenantId, [
      { title: 'Video', kind: 'VIDEO', durationSeconds: 100 },
      { title: 'Optional', kind: 'TEXT', required: false },
    ]);
    const [video, optional] = course.lessonIds as [string, string];
    const { enrollmentId } = await learner(course);
    await apply(fact(enrollmentId, video, { ...watched([0, 80]), ...at(80) }));
    const lesson = await lessonState(enrollmentId, video);
    const before = await courseState(enrollmentId);
    expect([lesson?.status, before.status]).toEqual(['COMPLETED', 'COMPLETED']);
    // Now a video needs all of it, and the course every lesson (the optional one is untouched).
    await setPolicy(course.courseId, { video: { rule: 'WATCHED_FRACTION', threshold: 1 }, courseRule: 'ALL_LESSONS' });
    expect(await apply(fact(enrollmentId, video, { ...at(3), ...watched([0, 1]) }), fact(enrollmentId, optional))).toEqual({ lessonsCompleted: 0, coursesCompleted: 0 });
    expect(await lessonState(enrollmentId, video)).toEqual(lesson);
    expect(await courseState(enrollmentId)).toEqual(before);
    expect(await types(enrollmentId)).toEqual([CourseCompleted.type, LessonCompleted.type]);
  });
});
