// The graph's conventions in learning: a completion policy only for a course of the caller's
// organization (the same NOT_FOUND whether the course is unknown or another organization's,
// nothing stored), catalog being down answered as SERVICE_UNAVAILABLE, and every object with
// an identity refetchable by its global id (Node: `_entities` is what the gateway's
// node(id:) calls), visible to exactly who may see it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { globalId } from '@lectern/kernel';
import { startLearning } from '../src/server.ts';
import { C, call, E, enroll, errorCode, idem, L, ok, organization, PROGRESS_FIELDS, publishedCourse, startHarness, SYNC, type Course, type Harness } from './helpers.ts';

let h: Harness;
const A = organization();
const B = organization();
let course: Course;
let foreign: Course;

beforeAll(async () => {
  h = await startHarness('learning-graph');
  [course, foreign] = await Promise.all([publishedCourse(h, A.tenantId), publishedCourse(h, B.tenantId)]);
});
afterAll(async () => {
  await h?.close();
});

const SET = `mutation($input: SetCompletionPolicyInput!) { setCompletionPolicy(input: $input) {
  policy { id course { id } courseRule custom } errors { __typename code message path ... on UserError { code } } } }`;
const GET = `query($id: ID!) { completionPolicy(courseId: $id) { id course { id } custom courseRule video { rule threshold } } }`;
const policyRows = async (courseIds: string[]) =>
  (await h.admin.query('select count(*)::int as n from learning.completion_policies where course_id = any($1::uuid[])', [courseIds])).rows[0].n as number;

describe('setCompletionPolicy', () => {
  it('answers NOT_FOUND, the same for an unknown course and another organization’s, and stores nothing', async () => {
    const answers = [];
    for (const courseId of [randomUUID(), foreign.courseId]) {
      answers.push((await ok(h, A.admin, SET, { input: { courseId: C(courseId), courseRule: 'ALL_LESSONS', idempotencyKey: idem() } })).setCompletionPolicy);
    }
    expect(answers[0]).toEqual({ policy: null, errors: [{ __typename: 'LearningError', code: 'NOT_FOUND', message: expect.any(String), path: ['input', 'courseId'] }] });
    expect(answers[1]).toEqual(answers[0]);
    expect(await policyRows([foreign.courseId])).toBe(0);
    expect((await h.admin.query('select count(*)::int as n from learning.completion_policies where tenant_id = $1', [A.tenantId])).rows[0].n).toBe(0);
    // Reading: null for both, the default for the organization's own course.
    for (const courseId of [randomUUID(), foreign.courseId]) expect((await ok(h, A.admin, GET, { id: C(courseId) })).completionPolicy).toBeNull();
    expect((await ok(h, A.learner, GET, { id: C(course.courseId) })).completionPolicy).toEqual({
      id: globalId('CompletionPolicy', course.courseId),
      course: { id: C(course.courseId) },
      custom: false,
      courseRule: 'ALL_REQUIRED',
      video: { rule: 'WATCHED_FRACTION', threshold: 0.8 },
    });
    // The organization's own course: stored.
    const set = (await ok(h, A.admin, SET, { input: { courseId: C(course.courseId), courseRule: 'ALL_LESSONS', idempotencyKey: idem() } })).setCompletionPolicy;
    expect(set).toEqual({ policy: { id: globalId('CompletionPolicy', course.courseId), course: { id: C(course.courseId) }, courseRule: 'ALL_LESSONS', custom: true }, errors: [] });
    expect(await policyRows([course.courseId])).toBe(1);
    // A course id that is not a Course global id is bad input, naming the field.
    const bad = await call(h, A.admin, SET, { input: { courseId: course.courseId, idempotencyKey: idem() } });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.extensions).toMatchObject({ field: 'courseId' });
  });

  it('answers SERVICE_UNAVAILABLE with a retry hint while catalog is unreachable', async () => {
    const cut = await startLearning({ ...h.env, CATALOG_URL: 'http://127.0.0.1:9/graphql' });
    onTestFinished(() => cut.close());
    const r = await call(cut, A.admin, SET, { input: { courseId: C(course.courseId), courseRule: 'ALL_REQUIRED', idempotencyKey: idem() } });
    expect(errorCode(r)).toBe('SERVICE_UNAVAILABLE');
    expect(r.errors?.[0]?.extensions).toMatchObject({ retryAfterSeconds: expect.any(Number) });
  });
});

describe('refetching by global id', () => {
  const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
    ... on CourseProgress { id status enrollment { id } }
    ... on LessonProgress { id status lesson { id } courseProgress { id } }
    ... on CompletionPolicy { id courseRule course { id } } } }`;

  it('returns each object by its id to whoever may see it, and null to everyone else', async () => {
    const learner = { ...A.learner, userId: randomUUID() };
    const { enrollmentId } = await enroll(h, A.tenantId, course, learner.userId!);
    await ok(h, learner, SYNC, { input: { deviceId: 'd', idempotencyKey: idem(), items: [{ lessonId: L(course.lessons.text), position: 0, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true }] } });
    const progress = (await ok(h, learner, `query($id: ID!) { courseProgress(enrollmentId: $id) { ${PROGRESS_FIELDS} } }`, { id: E(enrollmentId) })).courseProgress;
    const courseProgressId = globalId('CourseProgress', learner.userId!, course.courseId);
    const lessonProgressId = globalId('LessonProgress', learner.userId!, course.lessons.text);
    expect(progress.id).toBe(courseProgressId);
    expect(progress.lessons[3].id).toBe(lessonProgressId);
    const r = [
      { __typename: 'CourseProgress', id: courseProgressId },
      { __typename: 'LessonProgress', id: lessonProgressId },
      { __typename: 'CompletionPolicy', id: globalId('CompletionPolicy', course.courseId) },
    ];
    const mine = (await ok(h, learner, ENTITIES, { r }))._entities;
    expect(mine).toEqual([
      { id: courseProgressId, status: 'IN_PROGRESS', enrollment: { id: E(enrollmentId) } },
      { id: lessonProgressId, status: 'COMPLETED', lesson: { id: L(course.lessons.text) }, courseProgress: { id: courseProgressId } },
      { id: globalId('CompletionPolicy', course.courseId), courseRule: expect.any(String), course: { id: C(course.courseId) } },
    ]);
    // The organization's admin sees them too; another learner sees only the policy; another organization nothing.
    expect((await ok(h, A.admin, ENTITIES, { r }))._entities).toEqual(mine);
    expect((await ok(h, { ...A.learner, userId: randomUUID() }, ENTITIES, { r }))._entities).toEqual([null, null, mine[2]]);
    expect((await ok(h, B.admin, ENTITIES, { r }))._entities).toEqual([null, null, null]);
    // Ids that name nothing: malformed, another type's, an unknown course's policy, a lesson the learner has no enrollment for.
    const nothing = [
      { __typename: 'CourseProgress', id: 'nope' },
      { __typename: 'CourseProgress', id: globalId('LessonProgress', learner.userId!, course.lessons.text) },
      { __typename: 'CompletionPolicy', id: globalId('CompletionPolicy', randomUUID()) },
      { __typename: 'CompletionPolicy', id: globalId('CompletionPolicy', foreign.courseId) },
      { __typename: 'LessonProgress', id: globalId('LessonProgress', learner.userId!, foreign.lessons.v1) },
    ];
    expect((await ok(h, learner, ENTITIES, { r: nothing }))._entities).toEqual([null, null, null, null, null]);
  });
});
