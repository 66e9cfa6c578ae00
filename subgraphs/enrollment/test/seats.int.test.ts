// Exactly-once seats under concurrency: 500 learners race for 50 seats through the subgraph's
// HTTP endpoint; with the waitlist on, the rest queue in arrival order and a drop promotes the
// first of them; one learner enrolling twice at once ends with one enrollment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idem, M, call, enroll, offeringWithCohort, ok, outboxTypes, seedOrg, startHarness, type Harness, type Org } from './helpers.ts';
import { until } from '@lectern/testkit';
import { parseGlobalId } from '@lectern/kernel';

/** The UUID inside a global id (SQL keeps UUIDs). */
const uuid = (id: string) => parseGlobalId(id)!.keys[0]!;

let h: Harness;
let org: Org;

beforeAll(async () => {
  h = await startHarness('seats');
  org = await seedOrg(h, 'seats-org');
});
afterAll(async () => {
  await h?.close();
});

const race = (cohortId: string, n: number) => {
  const learners = Array.from({ length: n }, () => org.anyLearner());
  return Promise.all(learners.map((l) => ok(h, l, M.enroll, { input: { cohortId, idempotencyKey: idem() } }).then((d) => d.enrollLearner)));
};

describe('seats', () => {
  it('gives 50 seats to exactly 50 of 500 concurrent learners', async () => {
    const { cohortId } = await offeringWithCohort(h, org, { capacity: 50 });
    const results = await race(cohortId, 500);
    const active = results.filter((r) => r.enrollment?.status === 'ACTIVE');
    const full = results.filter((r) => r.errors[0]?.code === 'COHORT_FULL');
    expect(active).toHaveLength(50);
    expect(full).toHaveLength(450);
    const { rows } = await h.admin.query(`select count(*)::int as n from enrollment.enrollments where cohort_id = $1 and status = 'ACTIVE'`, [uuid(cohortId)]);
    expect(rows[0].n).toBe(50);
    const { rows: c } = await h.admin.query(`select seats_taken from enrollment.cohorts where id = $1`, [uuid(cohortId)]);
    expect(c[0].seats_taken).toBe(50);
  });

  it('waitlists the rest in arrival order and promotes the first when a seat frees', async () => {
    const { cohortId } = await offeringWithCohort(h, org, { capacity: 50, waitlist: true });
    const before = (await outboxTypes(h))['enrollment.LearnerEnrolled'] ?? 0;
    const results = await race(cohortId, 500);
    const active = results.filter((r) => r.enrollment?.status === 'ACTIVE');
    const waitlisted = results.filter((r) => r.enrollment?.status === 'WAITLISTED');
    expect(active).toHaveLength(50);
    expect(waitlisted).toHaveLength(450);
    const positions = waitlisted.map((r) => r.enrollment.waitlistPosition).sort((a: number, b: number) => a - b);
    expect(positions).toEqual(Array.from({ length: 450 }, (_, i) => i + 1));
    // Only seats are announced.
    expect((await outboxTypes(h))['enrollment.LearnerEnrolled']).toBe(before + 50);

    const first = waitlisted.find((r) => r.enrollment.waitlistPosition === 1)!.enrollment;
    const second = waitlisted.find((r) => r.enrollment.waitlistPosition === 2)!.enrollment;
    const dropped = await ok(h, org.admin, M.drop, { input: { enrollmentId: active[0].enrollment.id, idempotencyKey: idem() } });
    expect(dropped.dropEnrollment.errors).toEqual([]);
    expect(dropped.dropEnrollment.enrollment.status).toBe('DROPPED');
    expect(dropped.dropEnrollment.promoted).toMatchObject({ id: first.id, status: 'ACTIVE' });
    const { rows } = await h.admin.query(`select payload from enrollment.outbox where type = 'enrollment.LearnerEnrolled' and aggregate_id = $1`, [uuid(first.id)]);
    expect(rows).toHaveLength(1);
    expect(rows[0].payload.promotedFromWaitlist).toBe(true);
    const secondNow = await ok(h, org.admin, `query($id: ID!) { enrollment(id: $id) { status waitlistPosition } }`, { id: second.id });
    expect(secondNow.enrollment).toEqual({ status: 'WAITLISTED', waitlistPosition: 1 });
    const cohort = await ok(h, org.admin, `query($id: ID!) { cohort(id: $id) { seatsTaken seatsAvailable waitlistCount } }`, { id: cohortId });
    expect(cohort.cohort).toEqual({ seatsTaken: 50, seatsAvailable: 0, waitlistCount: 449 });
  });

  it('gives a learner enrolling twice at once one enrollment', async () => {
    const { cohortId } = await offeringWithCohort(h, org, { capacity: 5 });
    const learner = org.anyLearner();
    const [a, b] = await Promise.all([enroll(h, learner, cohortId), enroll(h, learner, cohortId)]);
    const winners = [a, b].filter((r) => r.errors.length === 0);
    const losers = [a, b].filter((r) => r.errors[0]?.code === 'ALREADY_ENROLLED');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0].enrollment.id).toBe(winners[0].enrollment.id);
    const { rows } = await h.admin.query(`select count(*)::int as n from enrollment.enrollments where learner_id = $1`, [learner.userId]);
    expect(rows[0].n).toBe(1);
  });

  it('answers ALREADY_ENROLLED, with no second seat, for an enrollment committed while it waited for the learner’s lock', async () => {
    const { offeringId, cohortId } = await offeringWithCohort(h, org, { capacity: 5 });
    const learner = org.anyLearner();
    // Another transaction holds the learner's lock, enrolls them and commits only once this
    // request waits for that lock (inside enroll_learner): its cohort read, before the lock, misses it.
    const other = await h.admin.connect();
    try {
      await other.query('begin');
      await other.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [`enroll:${org.tenantId}:${uuid(offeringId)}:${learner.userId}`]);
      const { rows } = await other.query<{ id: string }>(
        `with seat as (update enrollment.cohorts set seats_taken = seats_taken + 1 where id = $2)
         insert into enrollment.enrollments (id, tenant_id, offering_id, cohort_id, learner_id, status, enrolled_at)
         values (gen_random_uuid(), $1, $3, $2, $4, 'ACTIVE', now()) returning id`,
        [org.tenantId, uuid(cohortId), uuid(offeringId), learner.userId],
      );
      const key = idem();
      const pending = ok(h, learner, M.enroll, { input: { cohortId, idempotencyKey: key } });
      const waiting = async () =>
        (await h.admin.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory' and query like '%enroll_learner(%'`)).rows[0].n;
      expect(await until(waiting, (n) => n > 0)).toBe(1);
      await other.query('commit');
      const result = (await pending).enrollLearner;
      expect(result.errors.map((e: { code: string }) => e.code)).toEqual(['ALREADY_ENROLLED']);
      expect(uuid(result.enrollment.id)).toBe(rows[0]!.id);
      const { rows: c } = await h.admin.query(`select seats_taken from enrollment.cohorts where id = $1`, [uuid(cohortId)]);
      expect(c[0].seats_taken).toBe(1);
      // a replay gets the same answer
      expect((await ok(h, learner, M.enroll, { input: { cohortId, idempotencyKey: key } })).enrollLearner).toEqual(result);
    } finally {
      await other.query('rollback').catch(() => {});
      other.release();
    }
  });

  it('moves an active enrollment to another cohort and promotes at the source', async () => {
    const { offeringId, cohortId } = await offeringWithCohort(h, org, { capacity: 1, waitlist: true });
    const other = await ok(h, org.admin, M.createCohort, { input: { offeringId, name: 'Cohort B', capacity: 1, idempotencyKey: idem() } });
    const b = other.createCohort.cohort.id;
    const first = await enroll(h, org.anyLearner(), cohortId);
    const second = await enroll(h, org.anyLearner(), cohortId);
    expect(second.enrollment.status).toBe('WAITLISTED');
    const moved = await ok(h, org.admin, M.move, { input: { enrollmentId: first.enrollment.id, toCohortId: b, idempotencyKey: idem() } });
    expect(moved.moveEnrollment).toMatchObject({ enrollment: { id: first.enrollment.id, status: 'ACTIVE', cohort: { id: b } }, promoted: { id: second.enrollment.id }, errors: [] });
    const full = await ok(h, org.admin, M.move, { input: { enrollmentId: second.enrollment.id, toCohortId: b, idempotencyKey: idem() } });
    expect(full.moveEnrollment.errors[0].code).toBe('COHORT_FULL');
    const lowered = await ok(h, org.admin, M.updateCohort, { input: { cohortId: b, capacity: 1, name: 'B', idempotencyKey: idem() } });
    expect(lowered.updateCohort.errors).toEqual([]);
  });

  it('refuses to lower capacity below the seats taken and promotes when raised', async () => {
    const { cohortId } = await offeringWithCohort(h, org, { capacity: 2, waitlist: true });
    const rs = [];
    for (let i = 0; i < 4; i++) rs.push(await enroll(h, org.anyLearner(), cohortId));
    const low = await ok(h, org.admin, M.updateCohort, { input: { cohortId, capacity: 1, idempotencyKey: idem() } });
    expect(low.updateCohort.errors[0].code).toBe('CAPACITY_BELOW_SEATS_TAKEN');
    const zero = await call(h, org.admin, M.updateCohort, { input: { cohortId, capacity: 0, idempotencyKey: idem() } });
    expect(zero.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const raised = await ok(h, org.admin, M.updateCohort, { input: { cohortId, capacity: 3, idempotencyKey: idem() } });
    expect(raised.updateCohort.cohort).toMatchObject({ capacity: 3, seatsTaken: 3, waitlistCount: 1 });
    expect(raised.updateCohort.promoted.map((e: { id: string }) => e.id)).toEqual([rs[2]!.enrollment.id]);
  });
});
