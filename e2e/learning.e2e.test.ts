// Enrollment and learning through the gateway, with their workers running: federation across
// identity, catalog, enrollment and learning (Course.offerings, Offering.course,
// Cohort.enrollments, User.enrollments, Course.myProgress, Enrollment.progress), seats under
// concurrency, heartbeats and offline sync reaching PostgreSQL, completion, tenant and role
// isolation, and batching (100 enrollments cost the same SQL statements as 1).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '@lectern/kernel/ids';
import { adminPool, idem, until } from '@lectern/testkit';
import { seedManyMembers, seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedCourse, type SeededCourse } from '@lectern/catalog/testing';
import { startStack, run, type Stack } from './src/harness.ts';
import {
  CourseOfferingsDocument,
  CreateCohortDocument,
  CreateOfferingDocument,
  EnrollLearnerDocument,
  EnrollmentProgressDocument,
  LoginDocument,
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

/** Signs `user` in to `org` through the gateway (the gateway accepts only tokens of live sessions). */
async function login(user: { email: string }, org: { slug: string }): Promise<string> {
  const r = await run(stack.url, LoginDocument, { input: { email: user.email, password: TEST_PASSWORD, organizationSlug: org.slug, idempotencyKey: idem() } });
  expect(r.errors).toBeUndefined();
  expect(r.data!.login.errors).toEqual([]);
  const token = r.data!.login.accessToken;
  expect(token).toEqual(expect.any(String));
  return token!;
}

beforeAll(async () => {
  // the race below signs 60 people in from one address (identity allows 30 attempts per IP by default)
  stack = await startStack('learning', {}, { workers: true, identity: { LOGIN_MAX_ATTEMPTS_PER_IP: '200' } });
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
  t.aAdmin = await login(A.admin, A.org);
  t.aInstructor = await login(A.instructor, A.org);
  t.aLearner = await login(A.learner, A.org);
  t.aLearner2 = await login(A.learner2, A.org);
  t.bAdmin = await login(B.admin, B.org);
  t.bLearner = await login(B.learner, B.org);
  const now = Date.now();
  const o = await run(stack.url, CreateOfferingDocument, {
    input: { courseId: globalId('Course', course.id), startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 30 * 86_400_000).toISOString(), selfEnrollment: true, idempotencyKey: idem() },
  }, t.aAdmin);
  expect(o.errors).toBeUndefined();
  expect(o.data?.createOffering.errors).toEqual([]);
  offeringId = o.data!.createOffering.offering!.id;
  const c = await run(stack.url, CreateCohortDocument, { input: { offeringId, name: 'Morning', capacity: 120, instructorIds: [globalId('User', A.instructor.id)], idempotencyKey: idem() } }, t.aAdmin);
  expect(c.errors).toBeUndefined();
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
      const r = await run(stack.url, CourseOfferingsDocument, { id: globalId('Course', course.id) }, t.aLearner);
      return r.data?.course?.myProgress ? r : null;
    });
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.course!.myProgress).toMatchObject({ status: 'NOT_STARTED', requiredLessons: 2, completedRequiredLessons: 0 });
    expect(mine.data!.course!.myProgress!.lessons.map((l) => l.lesson.title)).toEqual(['Start', 'Read']);
    const offering = mine.data!.course!.offerings.nodes[0]!;
    expect(offering.course).toEqual({ id: globalId('Course', course.id), title: 'Forklift safety' });
    expect(offering.cohorts.totalCount).toBe(1);
    // a learner sees only their own enrollment in the cohort
    expect(offering.cohorts.nodes[0]!.enrollments.nodes.map((n) => n.learner.displayName)).toEqual(['Lena Learner']);

    const staff = await run(stack.url, CourseOfferingsDocument, { id: globalId('Course', course.id) }, t.aInstructor);
    expect(staff.errors).toBeUndefined();
    const nodes = staff.data!.course!.offerings.nodes[0]!.cohorts.nodes[0]!.enrollments.nodes;
    expect(nodes.map((n) => n.learner.displayName).sort()).toEqual(['Lena Learner', 'Leo Learner'].sort());
    expect(nodes.every((n) => n.progress?.status === 'NOT_STARTED' || n.progress === null)).toBe(true);

    const me = await run(stack.url, MyEnrollmentsDocument, {}, t.aLearner);
    expect(me.data!.me!.user!.enrollments.nodes.map((n) => [n.id, n.offering.course.title])).toEqual([[enrollmentId, 'Forklift safety']]);
  });

  it('takes heartbeats and offline sync, reflects them after the flush, and completes the course once', async () => {
    const [video, text] = course.modules[0]!.lessons;
    for (let beat = 1; beat <= 9; beat++) {
      const r = await run(stack.url, RecordProgressDocument, {
        input: { lessonId: globalId('Lesson', video!.id), position: beat * 30, secondsWatched: 30, clientTimestamp: new Date().toISOString(), deviceId: 'web-1', idempotencyKey: idem() },
      }, t.aLearner);
      expect(r.data?.recordProgress).toMatchObject({ accepted: true, duplicate: false, errors: [] });
    }
    // 270 of 300 s watched (90%): the video completes once flushed
    await until(async () => { // the flush to complete the video
      const r = await run(stack.url, CourseOfferingsDocument, { id: globalId('Course', course.id) }, t.aLearner);
      const lesson = r.data?.course?.myProgress?.lessons.find((l) => l.lesson.id === globalId('Lesson', video!.id));
      return lesson?.status === 'COMPLETED' && lesson.watchedSeconds === 270;
    });
    // the text lesson was read offline on a phone
    const synced = await run(stack.url, SyncProgressDocument, {
      input: { deviceId: 'phone-1', items: [{ lessonId: globalId('Lesson', text!.id), position: 0, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true }], idempotencyKey: idem() },
    }, t.aLearner);
    expect(synced.errors).toBeUndefined();
    expect(synced.data!.syncProgress.lessons).toEqual([expect.objectContaining({ lesson: { id: globalId('Lesson', text!.id) }, status: 'COMPLETED' })]);
    const done = await until(async () => { // course completion
      const r = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.aLearner);
      return r.data?.enrollment?.status === 'COMPLETED' ? r : null;
    });
    expect(done.data!.enrollment!.progress).toMatchObject({ status: 'COMPLETED', percent: 100, learner: { id: globalId('User', A.learner.id) } });
    // more heartbeats change nothing about completion
    await run(stack.url, RecordProgressDocument, {
      input: { lessonId: globalId('Lesson', video!.id), position: 300, secondsWatched: 30, clientTimestamp: new Date().toISOString(), deviceId: 'web-1', idempotencyKey: idem() },
    }, t.aLearner);
    await until(async () => { // the extra beat is flushed (it adds 270–300 s to the watched range)
      const r = await run(stack.url, CourseOfferingsDocument, { id: globalId('Course', course.id) }, t.aLearner);
      return (r.data?.course?.myProgress?.lessons.find((l) => l.lesson.id === globalId('Lesson', video!.id))?.watchedSeconds ?? 0) > 270;
    });
    const admin = adminPool(stack.db);
    const { rows } = await admin.query(`select type, count(*)::int as n from learning.outbox where type = 'learning.CourseCompleted' group by type`);
    await admin.end();
    expect(rows).toEqual([{ type: 'learning.CourseCompleted', n: 1 }]);
  });

  it('refuses a heartbeat for a lesson the learner is not enrolled in, with a typed error', async () => {
    const r = await run(stack.url, RecordProgressDocument, {
      input: { lessonId: globalId('Lesson', course.modules[0]!.lessons[0]!.id), position: 30, secondsWatched: 30, clientTimestamp: new Date().toISOString(), deviceId: 'web-b', idempotencyKey: idem() },
    }, t.bLearner);
    expect(r.data?.recordProgress.accepted).toBe(false);
    expect(r.data?.recordProgress.errors.map((e) => e.code)).toEqual(['NOT_ENROLLED']);
  });

  it('keeps organization B and other learners away from A’s offerings, enrollments and progress', async () => {
    const foreign = await run(stack.url, CourseOfferingsDocument, { id: globalId('Course', course.id) }, t.bAdmin);
    expect(foreign.data?.course).toBeNull();
    const theirs = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.bAdmin);
    const missing = await run(stack.url, EnrollmentProgressDocument, { id: globalId('Enrollment', randomUUID()) }, t.bAdmin);
    expect(theirs.body).toBe(missing.body);
    expect(theirs.data?.enrollment).toBeNull();
    const peer = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.aLearner2);
    expect(peer.data?.enrollment).toBeNull();
    const teacher = await run(stack.url, EnrollmentProgressDocument, { id: enrollmentId }, t.aInstructor);
    expect(teacher.data?.enrollment?.progress?.learner.id).toBe(globalId('User', A.learner.id));
  });

  it('seats exactly the capacity when 60 learners race for 20 seats through the gateway', async () => {
    const racers = await seedManyMembers(stack.identity.deps.orm, A.org, { count: 60, prefix: 'racer' });
    const tokens: string[] = [];
    for (const r of racers) tokens.push(await login(r, A.org)); // one at a time: argon2id is memory-hard
    const small = await run(stack.url, CreateCohortDocument, { input: { offeringId, name: 'Small', capacity: 20, idempotencyKey: idem() } }, t.aAdmin);
    const id = small.data!.createCohort.cohort!.id;
    const results = await Promise.all(tokens.map((tok) => run(stack.url, EnrollLearnerDocument, { input: { cohortId: id, idempotencyKey: idem() } }, tok)));
    const outcomes = results.map((r) => r.data?.enrollLearner.enrollment?.status ?? r.data?.enrollLearner.errors[0]?.code ?? 'ERROR');
    expect(outcomes.filter((o) => o === 'ACTIVE')).toHaveLength(20);
    expect(outcomes.filter((o) => o === 'COHORT_FULL')).toHaveLength(40);
  }, 120_000);

  it('costs the same SQL statements per subgraph for 100 enrollments with learners and progress as for 1', async () => {
    const courseWith = async (size: number) => {
      const c = await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorId: A.admin.id, published: true, title: `Batch of ${size}` });
      const people = await seedManyMembers(stack.identity.deps.orm, A.org, { count: size, prefix: `batch${size}` });
      const now = Date.now();
      const o = await run(stack.url, CreateOfferingDocument, {
        input: { courseId: globalId('Course', c.id), startsAt: new Date(now).toISOString(), endsAt: new Date(now + 86_400_000).toISOString(), idempotencyKey: idem() },
      }, t.aAdmin);
      const cohort = await run(stack.url, CreateCohortDocument, { input: { offeringId: o.data!.createOffering.offering!.id, name: 'All', capacity: size, idempotencyKey: idem() } }, t.aAdmin);
      const id = cohort.data!.createCohort.cohort!.id;
      await Promise.all(people.map((p) => run(stack.url, EnrollLearnerDocument, { input: { cohortId: id, learnerId: globalId('User', p.id), idempotencyKey: idem() } }, t.aAdmin)));
      // until learning knows every enrollment, so progress resolves for each row
      await until(async () => {
        const r = await run(stack.url, CourseOfferingsDocument, { id: globalId('Course', c.id) }, t.aAdmin);
        const nodes = r.data?.course?.offerings.nodes[0]?.cohorts.nodes[0]?.enrollments.nodes ?? [];
        return nodes.length === size && nodes.every((n) => n.progress);
      }, Boolean, 60_000);
      return globalId('Course', c.id);
    };
    // The notifications worker tells each learner of their enrollment (and completion), asking
    // identity for the organization and their contacts: let it finish, so identity's count below
    // is the query's own.
    const notificationsSettled = async () => {
      const admin = adminPool(stack.db);
      try {
        await until(async () => {
          const { rows } = await admin.query<{ events: number; told: number }>(`select
            (select count(*)::int from enrollment.outbox where type = 'enrollment.LearnerEnrolled')
              + (select count(*)::int from learning.outbox where type = 'learning.CourseCompleted') as events,
            (select count(*)::int from notifications.emails_sent where kind in ('ENROLLMENT_CONFIRMED', 'WAITLIST_PROMOTED', 'COURSE_COMPLETED')) as told`);
          return rows[0]!.events === rows[0]!.told;
        }, Boolean, 60_000);
      } finally {
        await admin.end();
      }
    };
    const cost = async (courseId: string) => {
      await notificationsSettled();
      // warm-up: the gateway's session check for this token is fresh for the measured request
      expect((await run(stack.url, CourseOfferingsDocument, { id: courseId }, t.aAdmin)).errors).toBeUndefined();
      const before = { enrollment: stack.enrollment.deps.stats.statements, learning: stack.learning.deps.stats.statements, identity: stack.identity.deps.stats.statements, catalog: stack.catalog.deps.stats.statements };
      const r = await run(stack.url, CourseOfferingsDocument, { id: courseId }, t.aAdmin);
      expect(r.errors).toBeUndefined();
      return {
        rows: r.data!.course!.offerings.nodes[0]!.cohorts.nodes[0]!.enrollments.nodes.length,
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
