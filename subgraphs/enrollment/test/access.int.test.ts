// Tenant isolation, who sees which enrollment, idempotency, bad input, the events each
// mutation records, and the N+1 guarantee.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor } from '@lectern/testkit';
import { call, enroll, errorCode, idem, M, offeringWithCohort, ok, publishedCourse, seedOrg, startHarness, type Harness, type Org } from './helpers.ts';

let h: Harness;
let a: Org;
let b: Org;
let setup: Awaited<ReturnType<typeof offeringWithCohort>>;
let mine: string; // org a's learner's enrollment

beforeAll(async () => {
  h = await startHarness('access');
  a = await seedOrg(h, 'access-a');
  b = await seedOrg(h, 'access-b');
  setup = await offeringWithCohort(h, a, { capacity: 200 });
  mine = (await enroll(h, a.learner, setup.cohortId)).enrollment.id;
});
afterAll(async () => {
  await h?.close();
});

const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Offering { id } ... on Cohort { id } ... on Enrollment { id } } }`;

describe('isolation', () => {
  it('shows organization B nothing of A: by id, in lists, through _entities', async () => {
    const byId = await ok(h, b.admin, `query($o: ID!, $c: ID!, $e: ID!) { offering(id: $o) { id } cohort(id: $c) { id } enrollment(id: $e) { id } }`, {
      o: setup.offeringId,
      c: setup.cohortId,
      e: mine,
    });
    expect(byId).toEqual({ offering: null, cohort: null, enrollment: null });
    const lists = await ok(h, b.admin, `query($c: ID!) { offerings(first: 100) { nodes { id } } byCourse: offerings(courseId: $c) { nodes { id } } }`, { c: setup.courseId });
    expect(lists.offerings.nodes).toEqual([]);
    expect(lists.byCourse.nodes).toEqual([]);
    const ents = await ok(h, b.admin, ENTITIES, {
      r: [
        { __typename: 'Offering', id: setup.offeringId },
        { __typename: 'Cohort', id: setup.cohortId },
        { __typename: 'Enrollment', id: mine },
      ],
    });
    expect(ents._entities).toEqual([null, null, null]);
    const user = await ok(h, b.admin, `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { enrollments { nodes { id } } } ... on Course { offerings { nodes { id } } } } }`, {
      r: [{ __typename: 'User', id: a.learner.userId }, { __typename: 'Course', id: setup.courseId }],
    });
    expect(user._entities).toEqual([{ enrollments: { nodes: [] } }, { offerings: { nodes: [] } }]);
    // A's own admin sees them.
    const own = await ok(h, a.admin, ENTITIES, { r: [{ __typename: 'Offering', id: setup.offeringId }, { __typename: 'Enrollment', id: mine }] });
    expect(own._entities).toEqual([{ id: setup.offeringId }, { id: mine }]);
    // B cannot enroll into A's cohort either.
    expect(errorCode(await call(h, b.learner, M.enroll, { input: { cohortId: setup.cohortId, idempotencyKey: idem() } }))).toBe('NOT_FOUND');
  });

  it('rejects calls without a valid actor context', async () => {
    const r = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ myEnrollments { nodes { id } } }' }) });
    expect(r.status).toBe(401);
  });
});

describe('roles', () => {
  it('lets learners see their own enrollments only, instructors those of cohorts they teach', async () => {
    const other = (await enroll(h, a.learner2, setup.cohortId)).enrollment.id;
    expect((await ok(h, a.learner, `query($id: ID!) { enrollment(id: $id) { id } }`, { id: other })).enrollment).toBeNull();
    expect((await ok(h, a.learner, `query($id: ID!) { enrollment(id: $id) { id } }`, { id: mine })).enrollment).toEqual({ id: mine });
    const cohortView = await ok(h, a.learner, `query($id: ID!) { cohort(id: $id) { enrollments(first: 100) { nodes { id } } } }`, { id: setup.cohortId });
    expect(cohortView.cohort.enrollments.nodes).toEqual([{ id: mine }]);
    const teaching = await ok(h, a.instructor, `query($id: ID!) { cohort(id: $id) { enrollments(first: 100) { nodes { id } } } }`, { id: setup.cohortId });
    expect(teaching.cohort.enrollments.nodes.map((n: { id: string }) => n.id)).toEqual(expect.arrayContaining([mine, other]));
    const stranger = actor({ tenantId: a.tenantId, roles: ['INSTRUCTOR'] });
    expect((await ok(h, stranger, `query($id: ID!) { enrollment(id: $id) { id } }`, { id: mine })).enrollment).toBeNull();
    expect(errorCode(await call(h, stranger, M.drop, { input: { enrollmentId: mine, idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    expect(errorCode(await call(h, a.learner2, M.drop, { input: { enrollmentId: mine, idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    // A learner cannot enroll someone else or schedule.
    expect(errorCode(await call(h, a.learner, M.enroll, { input: { cohortId: setup.cohortId, learnerId: a.learner2.userId, idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    expect(errorCode(await call(h, a.learner, M.updateCohort, { input: { cohortId: setup.cohortId, capacity: 5, idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    const my = await ok(h, a.learner, `{ myEnrollments { nodes { id status offering { id } cohort { id } } } }`);
    expect(my.myEnrollments.nodes).toEqual([{ id: mine, status: 'ACTIVE', offering: { id: setup.offeringId }, cohort: { id: setup.cohortId } }]);
  });

  it('lets admins and instructors enroll members outside the window, never non-members', async () => {
    const closed = await offeringWithCohort(h, a, { selfEnrollment: false, capacity: 5 });
    expect((await enroll(h, a.learner, closed.cohortId)).errors[0].code).toBe('SELF_ENROLLMENT_DISABLED');
    const notYet = await offeringWithCohort(h, a, { capacity: 5, window: { opensAt: new Date(Date.now() + 3600_000) } });
    expect((await enroll(h, a.learner, notYet.cohortId)).errors[0].code).toBe('ENROLLMENT_CLOSED');
    const byInstructor = await enroll(h, a.instructor, closed.cohortId, a.learner.userId!);
    expect(byInstructor.errors).toEqual([]);
    const nonMember = await enroll(h, a.admin, closed.cohortId, b.learner.userId!);
    expect(nonMember.errors[0].code).toBe('NOT_A_MEMBER');
  });
});

describe('mutations', () => {
  it('replays an idempotent mutation and refuses a reused key with other input', async () => {
    const input = { cohortId: setup.cohortId, idempotencyKey: idem() };
    const learner = actor({ tenantId: a.tenantId, roles: ['LEARNER'] });
    const first = (await ok(h, learner, M.enroll, { input })).enrollLearner;
    const replay = (await ok(h, learner, M.enroll, { input })).enrollLearner;
    expect(replay.enrollment.id).toBe(first.enrollment.id);
    expect(replay.errors).toEqual([]);
    const reused = await call(h, learner, M.enroll, { input: { ...input, cohortId: setup.cohortId.replace(/^./, (c) => (c === '0' ? '1' : '0')) } });
    expect(errorCode(reused)).toBe('BAD_USER_INPUT');
  });

  it('answers bad input with BAD_USER_INPUT and typed outcomes, without stack traces', async () => {
    const course = await publishedCourse(h, a);
    const bad = await call(h, a.admin, M.createOffering, {
      input: { courseId: course.id, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z', idempotencyKey: idem() },
    });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.body).not.toMatch(/stacktrace|at .*\.ts|select |insert /i);
    const draft = await publishedCourse(h, a, { published: false });
    const unpublished = await ok(h, a.admin, M.createOffering, {
      input: { courseId: draft.id, startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-02T00:00:00Z', idempotencyKey: idem() },
    });
    expect(unpublished.createOffering).toMatchObject({ offering: null, errors: [{ code: 'COURSE_NOT_PUBLISHED' }] });
    expect(errorCode(await call(h, a.admin, M.enroll, { input: { cohortId: 'nope', idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    expect(errorCode(await call(h, a.admin, M.enroll, { input: { cohortId: setup.cohortId, idempotencyKey: 'short' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await call(h, a.admin, `{ offerings(first: 101) { nodes { id } } }`))).toBe('BAD_USER_INPUT');
    const notInstructor = await ok(h, a.admin, M.setInstructors, { input: { cohortId: setup.cohortId, instructorIds: [a.learner.userId], idempotencyKey: idem() } });
    expect(notInstructor.setCohortInstructors.errors[0].code).toBe('NOT_AN_INSTRUCTOR');
  });

  it('records exactly the events of each mutation, ids only', async () => {
    const events = async () => (await h.admin.query('select type, aggregate_id, payload from enrollment.outbox order by seq')).rows;
    const before = (await events()).length;
    const s = await offeringWithCohort(h, a, { capacity: 1, waitlist: true });
    const created = (await events()).slice(before);
    expect(created.map((e) => e.type)).toEqual(['enrollment.CohortInstructorsChanged']);
    expect(created[0].payload).toEqual({ cohortId: s.cohortId, offeringId: s.offeringId, instructorIds: [a.instructor.userId] });
    await ok(h, a.admin, M.setInstructors, { input: { cohortId: s.cohortId, instructorIds: [a.instructor.userId, a.admin.userId], idempotencyKey: idem() } });
    const e1 = (await enroll(h, a.learner, s.cohortId)).enrollment.id;
    const e2 = (await enroll(h, a.learner2, s.cohortId)).enrollment.id; // waitlisted: no event
    await ok(h, a.learner, M.drop, { input: { enrollmentId: e1, idempotencyKey: idem() } });
    const after = (await events()).slice(before + 1);
    expect(after.map((e) => [e.type, e.aggregate_id])).toEqual([
      ['enrollment.CohortInstructorsChanged', s.cohortId],
      ['enrollment.LearnerEnrolled', e1],
      ['enrollment.EnrollmentDropped', e1],
      ['enrollment.LearnerEnrolled', e2],
    ]);
    expect(after[2].payload).toMatchObject({ wasActive: true, droppedBy: a.learner.userId });
    expect(after[3].payload.promotedFromWaitlist).toBe(true);
    for (const e of after) expect(JSON.stringify(e.payload)).not.toMatch(/@/);
  });
});

describe('batching', () => {
  it('costs the same number of SQL statements for 100 enrollments as for 1', async () => {
    const s = await offeringWithCohort(h, a, { capacity: 150 });
    await Promise.all(Array.from({ length: 110 }, () => enroll(h, a.anyLearner(), s.cohortId)));
    const Q = `query($id: ID!, $first: Int) { cohort(id: $id) { name enrollments(first: $first) { nodes { id status waitlistPosition learner { id } cohort { id name seatsTaken waitlistCount offering { id title } } offering { id cohorts { id } course { id } } } } } }`;
    const stats = h.enrollment.deps.stats;
    const cost = async (first: number) => {
      const before = stats.statements;
      const r = await ok(h, a.admin, Q, { id: s.cohortId, first });
      expect(r.cohort.enrollments.nodes).toHaveLength(first);
      return stats.statements - before;
    };
    const one = await cost(1);
    const hundred = await cost(100);
    expect(hundred).toBe(one);
    const U = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { enrollments(first: 5) { nodes { id cohort { id } offering { id } } } } } }`;
    const users = async (n: number) => {
      const ids = (await h.admin.query(`select learner_id from enrollment.enrollments where cohort_id = $1 limit $2`, [s.cohortId, n])).rows.map((r) => ({ __typename: 'User', id: r.learner_id }));
      const before = stats.statements;
      const r = await ok(h, a.admin, U, { r: ids });
      expect(r._entities).toHaveLength(n);
      return stats.statements - before;
    };
    expect(await users(100)).toBe(await users(1));
  });
});
