// Assessment through the gateway with every worker running: a learner passes the required quiz
// of a course and the course completes with exactly one CourseCompleted (assessment's
// QuizPassed → learning), a QUIZ lesson resolves its quiz from assessment, the attempt limit
// holds under 50 concurrent starts, an unsubmitted attempt is graded at its deadline by the
// worker with no client, and another organization or cohort sees none of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '@lectern/kernel/ids';
import { adminPool, gql, idem, until } from '@lectern/testkit';
import { accessTokenFor, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { okAs, startStack, run, type Stack } from './src/harness.ts';
import { CreateCohortDocument, CreateOfferingDocument, EnrollLearnerDocument, EnrollmentProgressDocument } from './__generated__/graphql.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Data = any;

let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
const t = { admin: '', instructor: '', learner: '', learner2: '', bAdmin: '' };
let courseId = '';
let quizId = '';
let lessonId = '';
let enrollmentId = '';
let bankId = '';

const ok = (token: string, query: string, variables: Record<string, unknown> = {}): Promise<Data> => okAs(stack.url, token, query, variables);

const CHOICE = (prompt: string) => ({ type: 'SINGLE_CHOICE', prompt, options: [{ id: 'a', text: 'Yes' }, { id: 'b', text: 'No' }], correctOptionIds: ['a'] });
const START = `mutation($input: StartAttemptInput!) { startAttempt(input: $input) { attempt { id number deadline questions { position prompt options { id text } grade { key { choiceIds } } } } errors { code message } } }`;
const SUBMIT = `mutation($input: SubmitAttemptInput!) { submitAttempt(input: $input) { attempt { id status score passed } errors { code message } } }`;

beforeAll(async () => {
  stack = await startStack('assessment', {}, { workers: true, assessment: { DEADLINE_SWEEP_INTERVAL_MS: '200' } });
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme-assess');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'globex-assess');
  const orm = stack.identity.deps.orm;
  t.admin = await accessTokenFor(orm, A.admin, A.org);
  t.instructor = await accessTokenFor(orm, A.instructor, A.org);
  t.learner = await accessTokenFor(orm, A.learner, A.org);
  t.learner2 = await accessTokenFor(orm, A.learner2, A.org);
  t.bAdmin = await accessTokenFor(orm, B.admin, B.org);

  // A draft course whose one required lesson is a quiz; the quiz is written for the course, the
  // lesson is pointed at it, and the course is published.
  const course = await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorId: A.admin.id, title: 'Fire safety', modules: [{ title: 'Check', lessons: [{ title: 'Final quiz', kind: 'QUIZ' }] }] });
  courseId = globalId('Course', course.id);
  lessonId = globalId('Lesson', course.modules[0]!.lessons[0]!.id);
  const b = await ok(t.instructor, `mutation($input: CreateQuestionBankInput!) { createQuestionBank(input: $input) { bank { id } errors { code } } }`, { input: { name: 'Fire', idempotencyKey: idem() } });
  bankId = b.createQuestionBank.bank.id;
  const questionIds: string[] = [];
  for (const prompt of ['Pull the alarm first?', 'Use the lift?']) {
    const q = await ok(t.instructor, `mutation($input: CreateQuestionInput!) { createQuestion(input: $input) { question { id } errors { code message } } }`, { input: { bankId, question: CHOICE(prompt), idempotencyKey: idem() } });
    questionIds.push(q.createQuestion.question.id);
  }
  const quiz = await ok(t.instructor, `mutation($input: CreateQuizInput!) { createQuiz(input: $input) { quiz { id course { id title } } errors { code message } } }`, {
    input: { courseId, title: 'Fire check', questionIds, attemptsAllowed: 3, passPercent: 100, published: true, idempotencyKey: idem() },
  });
  expect(quiz.createQuiz.errors).toEqual([]);
  expect(quiz.createQuiz.quiz.course).toEqual({ id: courseId, title: 'Fire safety' });
  quizId = quiz.createQuiz.quiz.id;
  const lesson = await ok(t.admin, `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { lesson { id } errors { code message } } }`, { input: { lessonId, quizId, idempotencyKey: idem() } });
  expect(lesson.updateLesson.errors).toEqual([]);
  lessonId = lesson.updateLesson.lesson.id;
  const pub = await ok(t.admin, `mutation($input: PublishCourseInput!) { publishCourse(input: $input) { errors { code message } } }`, { input: { courseId, idempotencyKey: idem() } });
  expect(pub.publishCourse.errors).toEqual([]);

  const now = Date.now();
  const o = await run(stack.url, CreateOfferingDocument, { input: { courseId, startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 30 * 86_400_000).toISOString(), selfEnrollment: true, idempotencyKey: idem() } }, t.admin);
  const offeringId = o.data!.createOffering.offering!.id;
  const cohort = async (name: string, instructorIds: string[]) => (await run(stack.url, CreateCohortDocument, { input: { offeringId, name, capacity: 50, instructorIds, idempotencyKey: idem() } }, t.admin)).data!.createCohort.cohort!.id;
  const morning = await cohort('Morning', [globalId('User', A.instructor.id)]);
  const evening = await cohort('Evening', []);
  for (const [token, cohortId] of [[t.learner, morning], [t.learner2, evening]] as const) {
    const e = await run(stack.url, EnrollLearnerDocument, { input: { cohortId, idempotencyKey: idem() } }, token);
    expect(e.data?.enrollLearner.enrollment?.status).toBe('ACTIVE');
    if (token === t.learner) enrollmentId = e.data!.enrollLearner.enrollment!.id;
  }
  // assessment learns the roster from enrollment's events
  for (const token of [t.learner, t.learner2]) await until(async () => (await gql(stack.url, `query($id: ID!) { quiz(id: $id) { id } }`, { id: quizId }, { token })).data?.quiz?.id === quizId);
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('assessment through the gateway', () => {
  it('resolves a QUIZ lesson\'s quiz from assessment, and the course\'s quizzes', async () => {
    const r = await ok(t.learner, `query($id: ID!) { node(id: $id) { ... on Lesson { kind quiz { id title viewerStanding { attemptsUsed attemptsLeft } } } } }`, { id: lessonId });
    expect(r.node).toEqual({ kind: 'QUIZ', quiz: { id: quizId, title: 'Fire check', viewerStanding: { attemptsUsed: 0, attemptsLeft: 3 } } });
    const c = await ok(t.learner, `query($id: ID!) { course(id: $id) { quizzes { id } } }`, { id: courseId });
    expect(c.course.quizzes).toEqual([{ id: quizId }]);
  });

  it('completes the course with exactly one CourseCompleted when the learner passes its quiz', async () => {
    const failed = await ok(t.learner, START, { input: { quizId, idempotencyKey: idem() } });
    expect(failed.startAttempt.attempt.questions.every((q: Data) => q.grade === null)).toBe(true);
    const wrong = await ok(t.learner, SUBMIT, { input: { attemptId: failed.startAttempt.attempt.id, answers: [{ position: 1, choiceIds: ['b'] }], idempotencyKey: idem() } });
    expect(wrong.submitAttempt.attempt).toMatchObject({ status: 'GRADED', passed: false });
    const attempt = (await ok(t.learner, START, { input: { quizId, idempotencyKey: idem() } })).startAttempt.attempt;
    const answers = attempt.questions.map((q: Data) => ({ position: q.position, choiceIds: [q.prompt.startsWith('Pull') ? 'a' : 'a'] }));
    const key = idem();
    const done = await ok(t.learner, SUBMIT, { input: { attemptId: attempt.id, answers, idempotencyKey: key } });
    expect(done.submitAttempt.attempt).toMatchObject({ status: 'GRADED', score: 2, passed: true });
    // Submitting again (a retry, another key) changes nothing.
    await ok(t.learner, SUBMIT, { input: { attemptId: attempt.id, answers: [], idempotencyKey: idem() } });
    const progress = await until(async () => {
      const r = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.learner);
      return r.data?.enrollment?.status === 'COMPLETED' ? r : null;
    });
    expect(progress.data!.enrollment!.progress).toMatchObject({ status: 'COMPLETED', percent: 100 });
    const admin = adminPool(stack.db);
    try {
      // Every QuizPassed was delivered (processed by learning) before counting.
      await until(async () => (await admin.query(`select count(*)::int as n from assessment.outbox where type = 'assessment.QuizPassed' and published_at is null`)).rows[0].n === 0);
      const { rows } = await admin.query(`select count(*)::int as n from learning.outbox where type = 'learning.CourseCompleted' and tenant_id = $1`, [A.org.id]);
      expect(rows[0].n).toBe(1);
    } finally {
      await admin.end();
    }
  });

  it('holds the attempt limit under 50 concurrent starts through the gateway', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => gql(stack.url, START, { input: { quizId, idempotencyKey: idem() } }, { token: t.learner2 })));
    const started = results.filter((r) => r.data?.startAttempt?.attempt);
    expect(started).toHaveLength(3);
    expect(results.filter((r) => r.data?.startAttempt?.errors?.[0]?.code === 'ATTEMPT_LIMIT_REACHED').length + results.filter((r) => r.errors?.[0]?.extensions?.code === 'CONFLICT').length).toBe(47);
    const standing = await ok(t.learner2, `query($id: ID!) { quiz(id: $id) { viewerStanding { attemptsUsed attemptsLeft } viewerAttempts { number status } } }`, { id: quizId });
    expect(standing.quiz.viewerStanding).toEqual({ attemptsUsed: 3, attemptsLeft: 0 });
    expect(standing.quiz.viewerAttempts.map((a: Data) => a.number)).toEqual([1, 2, 3]);
  });

  it('grades an attempt nobody submits at its deadline, with no client', async () => {
    const questionId = (await ok(t.instructor, `mutation($input: CreateQuestionInput!) { createQuestion(input: $input) { question { id } } }`, { input: { bankId, question: CHOICE('Timed?'), idempotencyKey: idem() } })).createQuestion.question.id;
    const timed = await ok(t.instructor, `mutation($input: CreateQuizInput!) { createQuiz(input: $input) { quiz { id } errors { code } } }`, {
      input: { courseId, title: 'Timed', questionIds: [questionId], closesAt: new Date(Date.now() + 4000).toISOString(), published: true, idempotencyKey: idem() },
    });
    const attempt = (await ok(t.learner, START, { input: { quizId: timed.createQuiz.quiz.id, idempotencyKey: idem() } })).startAttempt.attempt;
    await ok(t.learner, `mutation($input: SaveAnswersInput!) { saveAnswers(input: $input) { errors { code } } }`, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    const read = `query($id: ID!) { attempt(id: $id) { status autoSubmitted score submittedAt deadline } }`;
    const graded = await until(async () => {
      const r = await ok(t.learner, read, { id: attempt.id });
      return r.attempt.status === 'GRADED' ? r.attempt : null;
    });
    expect(graded).toMatchObject({ autoSubmitted: true, score: 1 });
    expect(new Date(graded.submittedAt).getTime() - new Date(graded.deadline).getTime()).toBeLessThan(5000);
  });

  it('shows another organization and another cohort\'s instructor none of it', async () => {
    const attemptId = (await ok(t.learner, `query($id: ID!) { quiz(id: $id) { viewerAttempts { id } } }`, { id: quizId })).quiz.viewerAttempts[0].id;
    const probes = [
      [`query($id: ID!) { node(id: $id) { id } }`, { id: quizId }],
      [`query($id: ID!) { node(id: $id) { id } }`, { id: attemptId }],
      [`query($id: ID!) { node(id: $id) { id } }`, { id: bankId }],
      [`query($id: ID!) { quiz(id: $id) { id } }`, { id: quizId }],
      [`query($id: ID!) { attempt(id: $id) { id } }`, { id: attemptId }],
    ] as const;
    for (const [query, variables] of probes) {
      const r = await gql(stack.url, query, variables, { token: t.bAdmin });
      expect(r.errors).toBeUndefined();
      expect(Object.values(r.data!)[0]).toBeNull();
    }
    const override = await gql(stack.url, `mutation($input: OverrideGradeInput!) { overrideGrade(input: $input) { errors { code } } }`, { input: { attemptId, score: 0, reason: 'x', idempotencyKey: idem() } }, { token: t.bAdmin });
    expect(override.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(override.body).not.toMatch(/sql|stack|at .*\.ts/i);
    // learner2 (another cohort) sees neither the attempt nor its history.
    expect((await ok(t.learner2, `query($id: ID!) { attempt(id: $id) { id } }`, { id: attemptId })).attempt).toBeNull();
    // The learner's own instructor sees the whole record.
    const seen = await ok(t.instructor, `query($id: ID!) { attempt(id: $id) { learner { id displayName } gradeHistory { kind } } }`, { id: attemptId });
    expect(seen.attempt.learner).toEqual({ id: globalId('User', A.learner.id), displayName: expect.any(String) });
    expect(seen.attempt.gradeHistory.map((g: Data) => g.kind)).toEqual(['AUTO_GRADED']);
  });
});
