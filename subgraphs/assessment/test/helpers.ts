// Shared set-up of the assessment integration tests: a fresh database per test file (assessment's
// schema), the subgraph started in-process on it under a private Redis prefix, and an
// organization whose roster (cohorts, instructors, enrollments in a course) is fed through
// assessment's projection handlers exactly as the consumer applies enrollment's events.
//
// Catalog is not started here: the subgraph's catalog client is replaced by one that knows the
// courses a test registers (`courses`). The real client is exercised through the gateway (e2e).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Actor } from '@lectern/kernel/actor';
import { globalId } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { actor, adminPool, createTestDatabase, idem, ok, type TestDatabase, dropRedisKeys } from '@lectern/testkit';
import { CohortInstructorsChanged, LearnerEnrolled } from '@lectern/contracts/enrollment';
import { assessment, loadEnv, migrations, type AssessmentEnv } from '../src/server.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from '../src/runtime.ts';
import { applyRosterEvent, envelope } from '../src/testing/index.ts';
export { call, errorCode, ok, until } from '@lectern/testkit';

export { idem };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface Harness {
  db: TestDatabase;
  env: AssessmentEnv;
  subgraph: RunningSubgraph<AssessmentEnv, SubgraphRuntime>;
  url: string;
  admin: pg.Pool;
  /** Courses the stand-in catalog knows, by organization. */
  courses: Map<string, Set<string>>;
  close(): Promise<void>;
}

export async function startHarness(label: string, env: Record<string, string> = {}): Promise<Harness> {
  const db = await createTestDatabase({ assessment: migrations }, label);
  const cleanups: (() => Promise<unknown>)[] = [() => db.drop()];
  const close = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  try {
    const assessmentEnv = loadEnv({ ...db.env, WORKER_PORT: '0', DEADLINE_SWEEP_INTERVAL_MS: '200', ...env });
    const redis = new Redis(assessmentEnv.REDIS_URL, { lazyConnect: false }).on('error', () => {});
    cleanups.push(() => dropRedisKeys(redis, assessmentEnv.REDIS_PREFIX));
    const courses = new Map<string, Set<string>>();
    const subgraph = await startSubgraph(
      {
        ...assessment,
        runtime: (deps) => ({
          ...createSubgraphRuntime(deps),
          catalog: { existingCourses: async (tenantId: string, ids: string[]) => new Set(ids.filter((id) => courses.get(tenantId)?.has(id))) },
        }),
      },
      assessmentEnv,
    );
    cleanups.push(() => subgraph.close());
    const admin = adminPool(db, 3);
    cleanups.push(() => admin.end());
    return { db, env: assessmentEnv, subgraph, url: subgraph.url, admin, courses, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Global ids of the objects tests name by their plain UUIDs. */
export const gid = {
  user: (uuid: string) => globalId('User', uuid),
  course: (uuid: string) => globalId('Course', uuid),
};

/** Applies one of enrollment's events to assessment's roster. */
export function roster(h: Harness, event: Parameters<typeof applyRosterEvent>[1]) {
  return applyRosterEvent(h.subgraph.deps.orm, event);
}

/**
 * An organization with one course and one offering of two cohorts (A, B): an instructor each,
 * two learners in A, one in B, a member enrolled nowhere, and an ORG_ADMIN. Actors carry
 * plain UUIDs.
 */
export async function organization(h: Harness) {
  const tenantId = randomUUID();
  const courseId = randomUUID();
  const offeringId = randomUUID();
  const cohortA = randomUUID();
  const cohortB = randomUUID();
  h.courses.set(tenantId, new Set([courseId]));
  const person = (roles: Actor['roles']) => actor({ tenantId, roles });
  const org = {
    tenantId,
    courseId,
    offeringId,
    cohortA,
    cohortB,
    admin: person(['ORG_ADMIN']),
    instructor: person(['INSTRUCTOR']),
    instructorB: person(['INSTRUCTOR']),
    learner: person(['LEARNER']),
    learner2: person(['LEARNER']),
    learnerB: person(['LEARNER']),
    outsider: person(['LEARNER']),
  };
  await roster(h, envelope(CohortInstructorsChanged, { tenantId, payload: { cohortId: cohortA, offeringId, instructorIds: [org.instructor.userId!] } }));
  await roster(h, envelope(CohortInstructorsChanged, { tenantId, payload: { cohortId: cohortB, offeringId, instructorIds: [org.instructorB.userId!] } }));
  for (const [who, cohortId] of [[org.learner, cohortA], [org.learner2, cohortA], [org.learnerB, cohortB]] as const) await enroll(h, org, cohortId, who.userId!);
  return org;
}
export type Org = Awaited<ReturnType<typeof organization>>;

export async function enroll(h: Harness, org: { tenantId: string; courseId: string; offeringId: string }, cohortId: string, learnerId: string): Promise<string> {
  const enrollmentId = randomUUID();
  await roster(
    h,
    envelope(LearnerEnrolled, {
      tenantId: org.tenantId,
      aggregateId: enrollmentId,
      payload: { enrollmentId, learnerId, offeringId: org.offeringId, cohortId, courseId: org.courseId, courseVersionId: randomUUID(), promotedFromWaitlist: false },
    }),
  );
  return enrollmentId;
}

const ERR = 'errors { code message path }';
const GRADE = 'grade { score maxScore needsGrading correct key { choiceIds boolean accepted number order blanks pairs { promptId optionId } } explanation comment rubric { criterionId levelId comment } }';
export const ATTEMPT = `id number status startedAt deadline submittedAt autoSubmitted score maxScore percent passed
  questions { position type prompt points options { id text } prompts { id text } items { id text } text blankCount unit answer { choiceIds boolean text number unit order blanks pairs { promptId optionId } } ${GRADE} }`;

export const M = {
  createBank: `mutation($input: CreateQuestionBankInput!) { createQuestionBank(input: $input) { bank { id name } ${ERR} } }`,
  importBank: `mutation($input: ImportQuestionBankInput!) { importQuestionBank(input: $input) { bank { id name questions(first: 100) { totalCount nodes { id type tags } } } ${ERR} } }`,
  createQuestion: `mutation($input: CreateQuestionInput!) { createQuestion(input: $input) { question { id type tags currentVersion { id number } } ${ERR} } }`,
  updateQuestion: `mutation($input: UpdateQuestionInput!) { updateQuestion(input: $input) { question { id tags currentVersion { id number correctOptionIds } versions { number } } ${ERR} } }`,
  createQuiz: `mutation($input: CreateQuizInput!) { createQuiz(input: $input) { quiz { id title published passPercent attemptsAllowed timeLimitMinutes } ${ERR} } }`,
  updateQuiz: `mutation($input: UpdateQuizInput!) { updateQuiz(input: $input) { quiz { id published closesAt } ${ERR} } }`,
  start: `mutation($input: StartAttemptInput!) { startAttempt(input: $input) { attempt { ${ATTEMPT} } ${ERR} } }`,
  save: `mutation($input: SaveAnswersInput!) { saveAnswers(input: $input) { attempt { id deadline questions { position answer { choiceIds boolean text number } } } ${ERR} } }`,
  submit: `mutation($input: SubmitAttemptInput!) { submitAttempt(input: $input) { attempt { ${ATTEMPT} } ${ERR} } }`,
  gradeAnswer: `mutation($input: GradeAnswerInput!) { gradeAnswer(input: $input) { attempt { id status score } ${ERR} } }`,
  override: `mutation($input: OverrideGradeInput!) { overrideGrade(input: $input) { attempt { id score gradeHistory { kind position fromScore toScore reason changedBy { id } changedAt } } ${ERR} } }`,
  regrade: `mutation($input: RegradeQuestionInput!) { regradeQuestion(input: $input) { applied changes { attempt { id score } oldScore newScore overridden } ${ERR} } }`,
  accommodate: `mutation($input: SetAccommodationInput!) { setAccommodation(input: $input) { accommodation { id timeMultiplier extraAttempts extensionMinutes } movedAttempts { id deadline } ${ERR} } }`,
};

/** A question (GraphQL QuestionInput) in a bank; returns its id. */
export async function question(h: Harness, who: Actor, bankId: string, q: Record<string, unknown>, tags: string[] = []): Promise<string> {
  const r = await ok(h, who, M.createQuestion, { input: { bankId, tags, question: q, idempotencyKey: idem() } });
  if (r.createQuestion.errors.length) throw new Error(JSON.stringify(r.createQuestion.errors));
  return r.createQuestion.question.id as string;
}

export async function bank(h: Harness, who: Actor, name = 'Bank'): Promise<string> {
  const r = await ok(h, who, M.createBank, { input: { name, idempotencyKey: idem() } });
  return r.createQuestionBank.bank.id as string;
}

/** A published quiz of the org's course; returns its id. */
export async function quiz(h: Harness, org: Org, settings: Record<string, unknown>): Promise<string> {
  const r = await ok(h, org.instructor, M.createQuiz, { input: { courseId: gid.course(org.courseId), title: 'Quiz', published: true, idempotencyKey: idem(), ...settings } });
  if (r.createQuiz.errors.length) throw new Error(JSON.stringify(r.createQuiz.errors));
  return r.createQuiz.quiz.id as string;
}

export async function start(h: Harness, who: Actor, quizId: string): Promise<Data> {
  const r = await ok(h, who, M.start, { input: { quizId, idempotencyKey: idem() } });
  if (r.startAttempt.errors.length) throw new Error(JSON.stringify(r.startAttempt.errors));
  return r.startAttempt.attempt;
}

/** Outbox rows of `type` (superuser: sees every tenant), oldest first. */
export async function outbox(h: Harness, type: string): Promise<{ payload: Data }[]> {
  return (await h.admin.query('select payload from assessment.outbox where type = $1 order by occurred_at, id', [type])).rows;
}

export const choice = (prompt: string, correct = 'a') => ({
  type: 'SINGLE_CHOICE',
  prompt,
  options: [
    { id: 'a', text: 'A' },
    { id: 'b', text: 'B' },
    { id: 'c', text: 'C' },
  ],
  correctOptionIds: [correct],
});
