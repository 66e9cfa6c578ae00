// Enrollment and learning through the gateway, with their workers running: federation across
// identity, catalog, enrollment and learning (Course.offerings, Offering.course,
// Cohort.enrollments, User.enrollments, Course.myProgress, Enrollment.progress), seats under
// concurrency, heartbeats and offline sync reaching PostgreSQL, completion, tenant and role
// isolation, and batching (100 enrollments cost the same SQL statements as 1).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPool, idem, until } from '@lectern/testkit';
import { accessTokenFor, seedManyMembers, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse, type SeededCourse } from '@lectern/catalog/testing';
import { startStack, run, type Stack } from './src/harness.ts';
import {
  CourseOfferingsDocument,
  CreateCohortDocument,
  CreateOfferingDocument,
  EnrollLearnerDocument,
  EnrollmentProgressDocument,
  MyEnrollmentsDocument,
  RecordProgressDocument,
  SyncProgressDocument,
} from './__generated__/graphql.ts';

let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let course: SeededCourse;
const t = { aAdmin: '', aInstructor: '', aLearner: '', aLearner2: '', bAdmin: '', bLearner: '' };
let offeringId = '';
let cohortId = '';
let enrollmentId = '';


beforeAll(async () => {
  stack = await startStack('learning', {}, { workers: true });
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme-learning');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'globex-learning');
  course = await seedCourse(stack.catalog.deps.orm, {
    tenantId: A.org.id,
    authorId: A.admin.id,
    title: 'Forklift safety',
    published: true,
    modules: [{ title: 'Videos', lessons: [{ title: 'Start', kind: 'VIDEO', durationSeconds: 300 }, { title: 'Read', kind: 'TEXT' }] }],
  });
  await seedCourse(stack.catalog.deps.orm, { tenantId: B.org.id, authorId: B.admin.id, published: true });
  t.aAdmin = await accessTokenFor(A.admin, A.org);
  t.aInstructor = await accessTokenFor(A.instructor, A.org);
  t.aLearner = await accessTokenFor(A.learner, A.org);
  t.aLearner2 = await accessTokenFor(A.learner2, A.org);
  t.bAdmin = await accessTokenFor(B.admin, B.org);
  t.bLearner = await accessTokenFor(B.learner, B.org);
  const now = Date.now();
  const o = await run(stack.url, CreateOfferingDocument, {
    input: { courseId: course.id, startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 30 * 86_400_000).toISOString(), selfEnrollment: true, idempotencyKey: idem() },
  }, t.aAdmin);
  expect(o.data?.createOffering.errors).toEqual([]);
  offeringId = o.data!.createOffering.offering!.id;
  const c = await run(stack.url, CreateCohortDocument, { input: { offeringId, name: 'Morning', capacity: 120, instructorIds: [A.instructor.id], idempotencyKey: idem() } }, t.aAdmin);
  expect(c.data?.createCohort.errors).toEqual([]);
  cohortId = c.data!.createCohort.cohort!.id;
  const e = await run(stack.url, EnrollLearnerDocument, { input: { cohortId, idempotencyKey: idem() } }, t.aLearner);
  expect(e.data?.enrollLearner.enrollment?.status).toBe('ACTIVE');
  enrollmentId = e.data!.enrollLearner.enrollment!.id;
  await run(stack.url, EnrollLearnerDocument, { input: { cohortId, idempotencyKey: idem() } }, t.aLearner2);
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('enrollment and learning through the gateway', () => {
  it('resolves offerings, cohorts, enrollments, learners and progress across four subgraphs', async () => {
    // learning learns of the enrollment from enrollment's LearnerEnrolled event
    const mine = await until(async () => { // learning to know the enrollment
      const r = await run(stack.url, CourseOfferingsDocument, { id: course.id }, t.aLearner);
      return r.data?.course?.myProgress ? r : null;
    });
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.course!.myProgress).toMatchObject({ status: 'NOT_STARTED', requiredLessons: 2, completedRequiredLessons: 0 });
    expect(mine.data!.course!.myProgress!.lessons.map((l) => l.lesson.title)).toEqual(['Start', 'Read']);
    const offering = mine.data!.course!.offerings.nodes[0]!;
    expect(offering.course).toEqual({ id: course.id, title: 'Forklift safety' });
    // a learner sees only their own enrollment in the cohort
    expect(offering.cohorts[0]!.enrollments.nodes.map((n) => n.learner.displayName)).toEqual(['Lena Learner']);

    const staff = await run(stack.url, CourseOfferingsDocument, { id: course.id }, t.aInstructor);
    expect(staff.errors).toBeUndefined();
    const nodes = staff.data!.course!.offerings.nodes[0]!.cohorts[0]!.enrollments.nodes;
    expect(nodes.map((n) => n.learner.displayName).sort()).toEqual(['Lena Learner', 'Leo Learner'].sort());
    expect(nodes.every((n) => n.progress?.status === 'NOT_STARTED' || n.progress === null)).toBe(true);

    const me = await run(stack.url, MyEnrollmentsDocument, {}, t.aLearner);
    expect(me.data!.me!.user!.enrollments.nodes.map((n) => [n.id, n.offering.course.title])).toEqual([[enrollmentId, 'Forklift safety']]);
  });

  it('takes heartbeats and offline sync, reflects them after the flush, and completes the course once', async () => {
    const [video, text] = course.modules[0]!.lessons;
    for (let beat = 1; beat <= 9; beat++) {
      const r = await run(stack.url, RecordProgressDocument, {
        input: { lessonId: video!.id, position: beat * 30, secondsWatched: 30, clientTimestamp: new Date().toISOString(), deviceId: 'web-1', idempotencyKey: idem() },
      }, t.aLearner);
      expect(r.data?.recordProgress).toMatchObject({ accepted: true, duplicate: false, errors: [] });
    }
    // 270 of 300 s watched (90%): the video completes once flushed
    await until(async () => { // the flush to complete the video
      const r = await run(stack.url, CourseOfferingsDocument, { id: course.id }, t.aLearner);
      const lesson = r.data?.course?.myProgress?.lessons.find((l) => l.lessonId === video!.id);
      return lesson?.status === 'COMPLETED' && lesson.watchedSeconds === 270;
    });
    // the text lesson was read offline on a phone
    const synced = await run(stack.url, SyncProgressDocument, {
      input: { deviceId: 'phone-1', items: [{ lessonId: text!.id, position: 0, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true }], idempotencyKey: idem() },
    }, t.aLearner);
    expect(synced.errors).toBeUndefined();
    expect(synced.data!.syncProgress.lessons).toEqual([expect.objectContaining({ lessonId: text!.id, status: 'COMPLETED' })]);
    const done = await until(async () => { // course completion
      const r = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.aLearner);
      return r.data?.enrollment?.status === 'COMPLETED' ? r : null;
    });
    expect(done.data!.enrollment!.progress).toMatchObject({ status: 'COMPLETED', percent: 100, learner: { id: A.learner.id } });
    // more heartbeats change nothing about completion
    await run(stack.url, RecordProgressDocument, {
      input: { lessonId: video!.id, position: 300, secondsWatched: 30, clientTimestamp: new Date().toISOString(), deviceId: 'web-1', idempotencyKey: idem() },
    }, t.aLearner);
    await until(async () => { // the extra beat is flushed (it adds 270–300 s to the watched range)
      const r = await run(stack.url, CourseOfferingsDocument, { id: course.id }, t.aLearner);
      return (r.data?.course?.myProgress?.lessons.find((l) => l.lessonId === video!.id)?.watchedSeconds ?? 0) > 270;
    });
    const admin = adminPool(stack.db);
    const { rows } = await admin.query(`select type, count(*)::int as n from learning.outbox where type = 'learning.CourseCompleted' group by type`);
    await admin.end();
    expect(rows).toEqual([{ type: 'learning.CourseCompleted', n: 1 }]);
  });

  it('refuses a heartbeat for a lesson the learner is not enrolled in, with a typed error', async () => {
    const r = await run(stack.url, RecordProgressDocument, {
      input: { lessonId: course.modules[0]!.lessons[0]!.id, position: 30, secondsWatched: 30, clientTimestamp: new Date().toISOString(), deviceId: 'web-b', idempotencyKey: idem() },
    }, t.bLearner);
    expect(r.data?.recordProgress.accepted).toBe(false);
    expect(r.data?.recordProgress.errors.map((e) => e.code)).toEqual(['NOT_ENROLLED']);
  });

  it('keeps organization B and other learners away from A’s offerings, enrollments and progress', async () => {
    const foreign = await run(stack.url, CourseOfferingsDocument, { id: course.id }, t.bAdmin);
    expect(foreign.data?.course).toBeNull();
    const theirs = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.bAdmin);
    const missing = await run(stack.url, EnrollmentProgressDocument, { id: randomUUID() }, t.bAdmin);
    expect(theirs.body).toBe(missing.body);
    expect(theirs.data?.enrollment).toBeNull();
    const peer = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.aLearner2);
    expect(peer.data?.enrollment).toBeNull();
    const teacher = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.aInstructor);
    expect(teacher.data?.enrollment?.progress?.learner.id).toBe(A.learner.id);
  });

  it('seats exactly the capacity when 60 learners race for 20 seats through the gateway', async () => {
    const racers = await seedManyMembers(stack.identity.deps.orm, A.org, { count: 60, prefix: 'racer' });
    const tokens = await Promise.all(racers.map((r) => accessTokenFor(r, A.org)));
    const small = await run(stack.url, CreateCohortDocument, { input: { offeringId, name: 'Small', capacity: 20, idempotencyKey: idem() } }, t.aAdmin);
    const id = small.data!.createCohort.cohort!.id;
    const results = await Promise.all(tokens.map((tok) => run(stack.url, EnrollLearnerDocument, { input: { cohortId: id, idempotencyKey: idem() } }, tok)));
    const outcomes = results.map((r) => r.data?.enrollLearner.enrollment?.status ?? r.data?.enrollLearner.errors[0]?.code ?? 'ERROR');
    expect(outcomes.filter((o) => o === 'ACTIVE')).toHaveLength(20);
    expect(outcomes.filter((o) => o === 'COHORT_FULL')).toHaveLength(40);
  });

  it('costs the same SQL statements per subgraph for 100 enrollments with learners and progress as for 1', async () => {
    const courseWith = async (size: number) => {
      const c = await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorId: A.admin.id, published: true, title: `Batch of ${size}` });
      const people = await seedManyMembers(stack.identity.deps.orm, A.org, { count: size, prefix: `batch${size}` });
      const now = Date.now();
      const o = await run(stack.url, CreateOfferingDocument, {
        input: { courseId: c.id, startsAt: new Date(now).toISOString(), endsAt: new Date(now + 86_400_000).toISOString(), idempotencyKey: idem() },
      }, t.aAdmin);
      const cohort = await run(stack.url, CreateCohortDocument, { input: { offeringId: o.data!.createOffering.offering!.id, name: 'All', capacity: size, idempotencyKey: idem() } }, t.aAdmin);
      const id = cohort.data!.createCohort.cohort!.id;
      await Promise.all(people.map((p) => run(stack.url, EnrollLearnerDocument, { input: { cohortId: id, learnerId: p.id, idempotencyKey: idem() } }, t.aAdmin)));
      // until learning knows every enrollment, so progress resolves for each row
      await until(async () => {
        const r = await run(stack.url, CourseOfferingsDocument, { id: c.id }, t.aAdmin);
        const nodes = r.data?.course?.offerings.nodes[0]?.cohorts[0]?.enrollments.nodes ?? [];
        return nodes.length === size && nodes.every((n) => n.progress);
      }, Boolean, 60_000);
      return c.id;
    };
    const cost = async (courseId: string) => {
      const before = { enrollment: stack.enrollment.deps.stats.statements, learning: stack.learning.deps.stats.statements, identity: stack.identity.deps.stats.statements, catalog: stack.catalog.deps.stats.statements };
      const r = await run(stack.url, CourseOfferingsDocument, { id: courseId }, t.aAdmin);
      expect(r.errors).toBeUndefined();
      return {
        rows: r.data!.course!.offerings.nodes[0]!.cohorts[0]!.enrollments.nodes.length,
        enrollment: stack.enrollment.deps.stats.statements - before.enrollment,
        learning: stack.learning.deps.stats.statements - before.learning,
        identity: stack.identity.deps.stats.statements - before.identity,
        catalog: stack.catalog.deps.stats.statements - before.catalog,
      };
    };
    const one = await cost(await courseWith(1));
    const hundred = await cost(await courseWith(100));
    expect(one.rows).toBe(1);
    expect(hundred.rows).toBe(100);
    expect({ ...hundred, rows: 0 }).toEqual({ ...one, rows: 0 });
  }, 120_000);
});
