// Tenant isolation, who sees which enrollment, idempotency, bad input, the events each
// mutation records, and the N+1 guarantee.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { actor } from '@lectern/testkit';
import { parseGlobalId } from '@lectern/kernel';
import { remoteContexts } from '../src/modules/remote/remote.ts';
import type { SubgraphRuntime } from '../src/runtime.ts';
import { call, enroll, errorCode, gid, globalId, idem, M, offeringWithCohort, ok, publishedCourse, publishedVersionOf, seedOrg, startHarness, type Harness, type Org } from './helpers.ts';

/** The UUID inside a global id (events and SQL keep UUIDs). */
const uuid = (id: string) => parseGlobalId(id)!.keys[0]!;

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
    const lists = await ok(h, b.admin, `query($c: ID!) { offerings(first: 100) { nodes { id } totalCount } byCourse: offerings(filter: { courseId: $c }) { nodes { id } totalCount } }`, { c: setup.courseId });
    expect(lists.offerings).toEqual({ nodes: [], totalCount: 0 });
    expect(lists.byCourse).toEqual({ nodes: [], totalCount: 0 });
    const ents = await ok(h, b.admin, ENTITIES, {
      r: [
        { __typename: 'Offering', id: setup.offeringId },
        { __typename: 'Cohort', id: setup.cohortId },
        { __typename: 'Enrollment', id: mine },
      ],
    });
    expect(ents._entities).toEqual([null, null, null]);
    const user = await ok(h, b.admin, `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { enrollments { nodes { id } } } ... on Course { offerings { nodes { id } } } } }`, {
      r: [{ __typename: 'User', id: a.ids.learner }, { __typename: 'Course', id: setup.courseId }],
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
    expect(errorCode(await call(h, a.learner, M.enroll, { input: { cohortId: setup.cohortId, learnerId: a.ids.learner2, idempotencyKey: idem() } }))).toBe('FORBIDDEN');
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
    const otherCohort = (await ok(h, a.admin, M.createCohort, { input: { offeringId: setup.offeringId, name: 'Other', capacity: 5, idempotencyKey: idem() } })).createCohort.cohort.id;
    const reused = await call(h, learner, M.enroll, { input: { ...input, cohortId: otherCohort } });
    expect(errorCode(reused)).toBe('BAD_USER_INPUT');
  });

  it('answers bad input with BAD_USER_INPUT and typed outcomes, without stack traces', async () => {
    const course = await publishedCourse(h, a);
    const bad = await call(h, a.admin, M.createOffering, {
      input: { courseId: gid.course(course.id), startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z', idempotencyKey: idem() },
    });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.body).not.toMatch(/stacktrace|at .*\.ts|select |insert /i);
    const draft = await publishedCourse(h, a, { published: false });
    const unpublished = await ok(h, a.admin, M.createOffering, {
      input: { courseId: gid.course(draft.id), startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-02T00:00:00Z', idempotencyKey: idem() },
    });
    expect(unpublished.createOffering).toMatchObject({ offering: null, errors: [{ code: 'COURSE_NOT_PUBLISHED', path: ['input', 'courseId'] }] });
    // Not a Cohort id at all (a raw UUID, another type's id): BAD_USER_INPUT naming the field; a Cohort id of nothing: NOT_FOUND.
    for (const cohortId of ['nope', uuid(setup.cohortId), setup.offeringId]) {
      const r = await call(h, a.admin, M.enroll, { input: { cohortId, idempotencyKey: idem() } });
      expect(errorCode(r)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.field).toBe('cohortId');
    }
    expect(errorCode(await call(h, a.admin, M.enroll, { input: { cohortId: globalId('Cohort', randomUUID()), idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    expect(errorCode(await call(h, a.admin, M.enroll, { input: { cohortId: setup.cohortId, idempotencyKey: 'short' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await call(h, a.admin, `{ offerings(first: 101) { nodes { id } } }`))).toBe('BAD_USER_INPUT');
    const notInstructor = await ok(h, a.admin, M.setInstructors, { input: { cohortId: setup.cohortId, instructorIds: [a.ids.learner], idempotencyKey: idem() } });
    expect(notInstructor.setCohortInstructors.errors[0].code).toBe('NOT_AN_INSTRUCTOR');
  });

  it('records exactly the events of each mutation, ids only', async () => {
    const events = async () => (await h.admin.query('select type, aggregate_id, payload from enrollment.outbox order by seq')).rows;
    const before = (await events()).length;
    const s = await offeringWithCohort(h, a, { capacity: 1, waitlist: true });
    const created = (await events()).slice(before);
    expect(created.map((e) => e.type)).toEqual(['enrollment.CohortInstructorsChanged']);
    expect(created[0].payload).toEqual({ cohortId: uuid(s.cohortId), offeringId: uuid(s.offeringId), instructorIds: [a.instructor.userId] });
    await ok(h, a.admin, M.setInstructors, { input: { cohortId: s.cohortId, instructorIds: [a.ids.instructor, a.ids.admin], idempotencyKey: idem() } });
    const e1 = (await enroll(h, a.learner, s.cohortId)).enrollment.id;
    const e2 = (await enroll(h, a.learner2, s.cohortId)).enrollment.id; // waitlisted: no event
    await ok(h, a.learner, M.drop, { input: { enrollmentId: e1, idempotencyKey: idem() } });
    const after = (await events()).slice(before + 1);
    expect(after.map((e) => [e.type, e.aggregate_id])).toEqual([
      ['enrollment.CohortInstructorsChanged', uuid(s.cohortId)],
      ['enrollment.LearnerEnrolled', uuid(e1)],
      ['enrollment.EnrollmentDropped', uuid(e1)],
      ['enrollment.LearnerEnrolled', uuid(e2)],
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
    const Q = `query($id: ID!, $first: Int) { cohort(id: $id) { name enrollments(first: $first) { nodes { id status waitlistPosition learner { id } cohort { id name seatsTaken waitlistCount offering { id title } } offering { id cohorts { nodes { id } } course { id } } } } } }`;
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
      const ids = (await h.admin.query(`select learner_id from enrollment.enrollments where cohort_id = $1 limit $2`, [uuid(s.cohortId), n])).rows.map((r) => ({ __typename: 'User', id: gid.user(r.learner_id) }));
      const before = stats.statements;
      const r = await ok(h, a.admin, U, { r: ids });
      expect(r._entities).toHaveLength(n);
      return stats.statements - before;
    };
    expect(await users(100)).toBe(await users(1));
  });
});

describe('foreign references', () => {
  const at = (courseId: string) => ({ input: { courseId, startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-02T00:00:00Z', idempotencyKey: idem() } });

  it('answers COURSE_NOT_FOUND alike for an unknown course and another organization’s, and stores nothing', async () => {
    const foreign = await publishedCourse(h, b);
    const count = async () => (await h.admin.query(`select count(*)::int as n from enrollment.offerings where tenant_id = $1`, [a.tenantId])).rows[0].n;
    const before = await count();
    const unknown = (await ok(h, a.admin, M.createOffering, at(gid.course(randomUUID())))).createOffering;
    const theirs = (await ok(h, a.admin, M.createOffering, at(gid.course(foreign.id)))).createOffering;
    const expected = { offering: null, errors: [{ code: 'COURSE_NOT_FOUND', message: 'No such course in this organization', path: ['input', 'courseId'] }] };
    expect(unknown).toEqual(expected);
    expect(theirs).toEqual(expected);
    expect(await count()).toBe(before);
    // B's own admin schedules it.
    expect((await ok(h, b.admin, M.createOffering, at(gid.course(foreign.id)))).createOffering.errors).toEqual([]);
  });

  it('accepts as instructors only active members of the organization with INSTRUCTOR or ORG_ADMIN, with one answer whatever the reason', async () => {
    const answer = async (instructorId: string) => {
      const created = (await ok(h, a.admin, M.createCohort, { input: { offeringId: setup.offeringId, name: 'X', capacity: 3, instructorIds: [instructorId], idempotencyKey: idem() } })).createCohort;
      const set = (await ok(h, a.admin, M.setInstructors, { input: { cohortId: setup.cohortId, instructorIds: [instructorId], idempotencyKey: idem() } })).setCohortInstructors;
      return { created, set };
    };
    const refused = (id: string) => [{ code: 'NOT_AN_INSTRUCTOR', message: `Not active members with the INSTRUCTOR or ORG_ADMIN role: ${id}`, path: ['input', 'instructorIds'] }];
    const cohortsBefore = (await h.admin.query(`select count(*)::int as n from enrollment.cohorts where tenant_id = $1`, [a.tenantId])).rows[0].n;
    // unknown person, another organization's instructor and admin, a member without the role
    for (const id of [gid.user(randomUUID()), b.ids.instructor, b.ids.admin, a.ids.learner]) {
      const { created, set } = await answer(id);
      expect(created).toEqual({ cohort: null, errors: refused(id) });
      expect(set.errors).toEqual(refused(id));
      expect(set.cohort.instructors).toEqual([{ id: a.ids.instructor }]);
    }
    expect((await h.admin.query(`select count(*)::int as n from enrollment.cohorts where tenant_id = $1`, [a.tenantId])).rows[0].n).toBe(cohortsBefore);
    // not a User id at all: bad input, naming the field
    const bad = await call(h, a.admin, M.setInstructors, { input: { cohortId: setup.cohortId, instructorIds: [a.instructor.userId], idempotencyKey: idem() } });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.extensions?.field).toBe('instructorIds');
    // the organization's instructor and admin are accepted
    const fine = (await ok(h, a.admin, M.setInstructors, { input: { cohortId: setup.cohortId, instructorIds: [a.ids.admin, a.ids.instructor], idempotencyKey: idem() } })).setCohortInstructors;
    expect(fine.errors).toEqual([]);
    expect(fine.cohort.instructors).toEqual([{ id: a.ids.admin }, { id: a.ids.instructor }]);
    await ok(h, a.admin, M.setInstructors, { input: { cohortId: setup.cohortId, instructorIds: [a.ids.instructor], idempotencyKey: idem() } });
  });
});

describe('graph conventions', () => {
  const NODES = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Node { id } } }`;

  it('gives every object a global id that refetches it, and links instead of bare ids', async () => {
    const view = await ok(h, a.admin, `query($id: ID!) { offering(id: $id) { id course { id } courseVersion { id } cohorts { nodes { id offering { id } instructors { id } } } } }`, { id: setup.offeringId });
    expect(parseGlobalId(setup.offeringId)!.type).toBe('Offering');
    expect(view.offering.course).toEqual({ id: setup.courseId });
    expect(view.offering.courseVersion).toEqual({ id: gid.version(await publishedVersionOf(h, a.tenantId, setup.courseUuid)) });
    expect(view.offering.cohorts.nodes[0]).toEqual({ id: setup.cohortId, offering: { id: setup.offeringId }, instructors: [{ id: a.ids.instructor }] });
    const refetched = await ok(h, a.admin, NODES, {
      r: [
        { __typename: 'Offering', id: setup.offeringId },
        { __typename: 'Cohort', id: setup.cohortId },
        { __typename: 'Enrollment', id: mine },
        // an id of another type, or a raw UUID, names nothing
        { __typename: 'Offering', id: setup.cohortId },
        { __typename: 'Cohort', id: uuid(setup.cohortId) },
      ],
    });
    expect(refetched._entities).toEqual([
      { __typename: 'Offering', id: setup.offeringId },
      { __typename: 'Cohort', id: setup.cohortId },
      { __typename: 'Enrollment', id: mine },
      null,
      null,
    ]);
    // lookups take global ids only
    const raw = await ok(h, a.admin, `query($o: ID!) { offering(id: $o) { id } }`, { o: uuid(setup.offeringId) });
    expect(raw.offering).toBeNull();
  });

  it('pages offerings, cohorts and enrollments both ways, with totalCount, orderBy and filter', async () => {
    const org = await seedOrg(h, 'pages-org');
    const course = await publishedCourse(h, org);
    const DAY = 24 * 3600 * 1000;
    const ids: string[] = [];
    // created in this order, starting in the reverse order
    for (let i = 0; i < 5; i++) {
      const r = await ok(h, org.admin, M.createOffering, {
        input: { courseId: gid.course(course.id), title: `O${i}`, startsAt: new Date(Date.now() + (10 - i) * DAY).toISOString(), endsAt: new Date(Date.now() + 20 * DAY).toISOString(), idempotencyKey: idem() },
      });
      ids.push(r.createOffering.offering.id);
    }
    const Q = `query($first: Int, $after: String, $last: Int, $before: String, $order: OfferingOrder, $filter: OfferingFilter) {
      offerings(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $filter) {
        nodes { id } edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`;
    const page = async (v: Record<string, unknown>) => (await ok(h, org.admin, Q, v)).offerings;
    const p1 = await page({ first: 2 });
    expect(p1.nodes.map((n: { id: string }) => n.id)).toEqual(ids.slice(0, 2));
    expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(p1.totalCount).toBe(5);
    const p2 = await page({ first: 2, after: p1.pageInfo.endCursor });
    expect(p2.nodes.map((n: { id: string }) => n.id)).toEqual(ids.slice(2, 4));
    const back = await page({ last: 2, before: p2.pageInfo.startCursor });
    expect(back.nodes.map((n: { id: string }) => n.id)).toEqual(ids.slice(0, 2));
    expect(back.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const tail = await page({ last: 3 });
    expect(tail.nodes.map((n: { id: string }) => n.id)).toEqual(ids.slice(2));
    expect(tail.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    // by start date: the last created starts first
    const byStart = await page({ first: 2, order: { field: 'STARTS_AT', direction: 'ASC' } });
    expect(byStart.nodes.map((n: { id: string }) => n.id)).toEqual([ids[4], ids[3]]);
    const byStartNext = await page({ first: 10, after: byStart.pageInfo.endCursor, order: { field: 'STARTS_AT', direction: 'ASC' } });
    expect(byStartNext.nodes.map((n: { id: string }) => n.id)).toEqual([ids[2], ids[1], ids[0]]);
    const newest = await page({ first: 1, order: { field: 'CREATED_AT', direction: 'DESC' } });
    expect(newest.nodes.map((n: { id: string }) => n.id)).toEqual([ids[4]]);
    expect(errorCode(await call(h, org.admin, Q, { first: 1, after: p1.pageInfo.endCursor, order: { field: 'STARTS_AT', direction: 'ASC' } }))).toBe('BAD_USER_INPUT');
    const other = await page({ filter: { courseId: gid.course(randomUUID()) } });
    expect(other).toMatchObject({ nodes: [], totalCount: 0 });

    // Offering.cohorts is a connection like the rest
    const offeringId = ids[0]!;
    const cohorts: string[] = [];
    for (let i = 0; i < 3; i++) cohorts.push((await ok(h, org.admin, M.createCohort, { input: { offeringId, name: `C${i}`, capacity: 5, idempotencyKey: idem() } })).createCohort.cohort.id);
    const C = `query($id: ID!, $first: Int, $after: String, $last: Int) { offering(id: $id) { cohorts(first: $first, after: $after, last: $last) { nodes { id } pageInfo { hasNextPage endCursor } totalCount } } }`;
    const c1 = (await ok(h, org.admin, C, { id: offeringId, first: 2 })).offering.cohorts;
    expect(c1).toMatchObject({ nodes: cohorts.slice(0, 2).map((id) => ({ id })), pageInfo: { hasNextPage: true }, totalCount: 3 });
    const c2 = (await ok(h, org.admin, C, { id: offeringId, first: 2, after: c1.pageInfo.endCursor })).offering.cohorts;
    expect(c2.nodes).toEqual([{ id: cohorts[2] }]);
    expect((await ok(h, org.admin, C, { id: offeringId, last: 1 })).offering.cohorts.nodes).toEqual([{ id: cohorts[2] }]);

    // enrollments: filter by status, totalCount counts what the caller may see
    await ok(h, org.admin, M.updateOffering, { input: { offeringId, selfEnrollment: true, idempotencyKey: idem() } });
    const e1 = (await enroll(h, org.admin, cohorts[0]!, org.learner.userId!)).enrollment.id;
    const e2 = (await enroll(h, org.admin, cohorts[0]!, org.learner2.userId!)).enrollment.id;
    await ok(h, org.admin, M.drop, { input: { enrollmentId: e2, idempotencyKey: idem() } });
    const E = `query($id: ID!, $filter: EnrollmentFilter) { cohort(id: $id) { enrollments(filter: $filter) { nodes { id status } totalCount } } }`;
    expect((await ok(h, org.admin, E, { id: cohorts[0] })).cohort.enrollments).toEqual({ nodes: [{ id: e1, status: 'ACTIVE' }, { id: e2, status: 'DROPPED' }], totalCount: 2 });
    expect((await ok(h, org.admin, E, { id: cohorts[0], filter: { status: ['DROPPED'] } })).cohort.enrollments).toEqual({ nodes: [{ id: e2, status: 'DROPPED' }], totalCount: 1 });
    expect((await ok(h, org.learner, E, { id: cohorts[0] })).cohort.enrollments).toEqual({ nodes: [{ id: e1, status: 'ACTIVE' }], totalCount: 1 });
    const mineQ = await ok(h, org.learner2, `{ myEnrollments(filter: { status: [ACTIVE, WAITLISTED] }) { nodes { id } totalCount } }`);
    expect(mineQ.myEnrollments).toEqual({ nodes: [], totalCount: 0 });
  });
});

describe('dependencies down', () => {
  it('answers SERVICE_UNAVAILABLE with a retry hint when catalog or identity does not answer', async () => {
    const runtime = h.enrollment.runtime as SubgraphRuntime;
    const real = runtime.remote;
    // Nothing listens on port 1: both contexts are unreachable.
    runtime.remote = remoteContexts({ ...h.env, CATALOG_URL: 'http://127.0.0.1:1/graphql', IDENTITY_URL: 'http://127.0.0.1:1/graphql' });
    try {
      const offering = await call(h, a.admin, M.createOffering, { input: { courseId: setup.courseId, startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-02T00:00:00Z', idempotencyKey: idem() } });
      expect(errorCode(offering)).toBe('SERVICE_UNAVAILABLE');
      expect(offering.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      expect(offering.errors?.[0]?.message).toBe('catalog is unavailable right now; retry in a few seconds');
      const instructors = await call(h, a.admin, M.setInstructors, { input: { cohortId: setup.cohortId, instructorIds: [a.ids.instructor], idempotencyKey: idem() } });
      expect(errorCode(instructors)).toBe('SERVICE_UNAVAILABLE');
      const enrolled = await call(h, a.admin, M.enroll, { input: { cohortId: setup.cohortId, learnerId: a.ids.learner2, idempotencyKey: idem() } });
      expect(errorCode(enrolled)).toBe('SERVICE_UNAVAILABLE');
    } finally {
      runtime.remote = real;
    }
  });
});
