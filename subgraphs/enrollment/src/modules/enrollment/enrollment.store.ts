// enrollment's store: the seat algorithm in set-based SQL, shared by enrollLearner, dropEnrollment, moveEnrollment, updateCohort
// and roster imports, and the module's other raw statements (course completions; pages are loaders.ts'). Every function runs inside the caller's transaction, but enrollOne:
// enrollLearner's change is one call of the enroll_learner SQL function in its own round trip
// (migrations/0003-enroll-learner.ts), under the same rules and lock order.
//
// - A seat is taken only by a guarded UPDATE of the cohort row (seats_taken < capacity); the
//   row lock it takes serialises seat changes of one cohort, the CHECK on cohorts is the last
//   guard. A learner's enrollments in one offering are serialised by an advisory lock on
//   (offering, learner), and the partial unique index is the last guard there.
// - A learner joins the waitlist only while the cohort is full (checked under the row lock),
//   and every seat that frees goes at once, in the same transaction, to the earliest
//   waitlisted: a non-empty waitlist always means a full cohort, so nobody jumps the queue.
// - Lock order: learner advisory locks (sorted), then cohort rows (by id), then enrollment
//   rows. Nothing that holds a cohort row waits for a learner lock, so there is no cycle.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { eventEnvelope, recordEvent, recordEvents } from '@lectern/kernel/outbox';
import { checkIdempotencyKey, completeConflict, completeRefused, fingerprint, IDEMPOTENCY_TTL_HOURS, replayOf, type ClaimRow, type UnitOfWork } from '@lectern/kernel';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { optionalTimestamp, timestamp, uuidList } from '@lectern/kernel/rows';
import { EnrollmentDropped, EnrollmentMoved, LearnerEnrolled } from '@lectern/contracts/enrollment';

export interface CohortRow {
  cohortId: string;
  offeringId: string;
  capacity: number;
  seatsTaken: number;
  instructorIds: string[];
  courseId: string;
  courseVersionId: string;
  startsAt: Date;
  endsAt: Date;
  enrollmentOpensAt: Date | null;
  enrollmentClosesAt: Date | null;
  selfEnrollment: boolean;
  waitlistEnabled: boolean;
  prerequisiteCourseIds: string[];
}


const cohortRow = (r: Record<string, unknown>): CohortRow => ({
  cohortId: r.cohort_id as string,
  offeringId: r.offering_id as string,
  capacity: Number(r.capacity),
  seatsTaken: Number(r.seats_taken),
  instructorIds: uuidList(r.instructor_ids),
  courseId: r.course_id as string,
  courseVersionId: r.course_version_id as string,
  startsAt: timestamp(r.starts_at),
  endsAt: timestamp(r.ends_at),
  enrollmentOpensAt: optionalTimestamp(r.enrollment_opens_at),
  enrollmentClosesAt: optionalTimestamp(r.enrollment_closes_at),
  selfEnrollment: Boolean(r.self_enrollment),
  waitlistEnabled: Boolean(r.waitlist_enabled),
  prerequisiteCourseIds: uuidList(r.prerequisite_course_ids),
});

const COHORT_COLUMNS = `c.id as cohort_id, c.offering_id, c.capacity, c.seats_taken, c.instructor_ids, o.course_id, o.course_version_id,
            o.starts_at, o.ends_at, o.enrollment_opens_at, o.enrollment_closes_at, o.self_enrollment, o.waitlist_enabled, o.prerequisite_course_ids`;

/** The cohort with its offering, as of now (no row lock); null when not visible. */
export async function loadCohort(em: EntityManager, tenantId: string, cohortId: string): Promise<CohortRow | null> {
  const [r] = await em.execute<Record<string, unknown>[]>(
    `select ${COHORT_COLUMNS}
       from cohorts c join offerings o on o.tenant_id = c.tenant_id and o.id = c.offering_id
      where c.tenant_id = ? and c.id = ?`,
    [tenantId, cohortId],
  );
  return r ? cohortRow(r) : null;
}

/**
 * The cohort with its offering, the prerequisite courses `learnerId` has not completed and the
 * learner's enrollment in the offering (if any), in one round trip of its own (uow.statement,
 * no lock): what enrollLearner decides before the seat, valid as of this read.
 */
export async function readCohortFor(
  uow: UnitOfWork,
  tenantId: string,
  cohortId: string,
  learnerId: string,
): Promise<{ cohort: CohortRow; missing: string[]; existingId: string | null } | null> {
  const [r] = await uow.statement(
    `select ${COHORT_COLUMNS},
            array(select p from unnest(o.prerequisite_course_ids) p
                   where not exists (select 1 from course_completions cc where cc.tenant_id = c.tenant_id and cc.learner_id = ?::uuid and cc.course_id = p)) as missing,
            (select e.id from enrollments e
              where e.tenant_id = c.tenant_id and e.offering_id = c.offering_id and e.learner_id = ?::uuid and e.status <> 'DROPPED') as existing_id
       from cohorts c join offerings o on o.tenant_id = c.tenant_id and o.id = c.offering_id
      where c.tenant_id = ? and c.id = ?`,
    [learnerId, learnerId, tenantId, cohortId],
  );
  return r ? { cohort: cohortRow(r), missing: uuidList(r.missing), existingId: (r.existing_id as string | null) ?? null } : null;
}

/** A learner's lock for one offering (the same text enroll_learner builds in SQL). */
const lockKey = (tenantId: string, offeringId: string, learnerId: string) => `enroll:${tenantId}:${offeringId}:${learnerId}`;

/** What enrollOne stores for each outcome it may reach (a replay gets it back as stored). */
export interface EnrollResults<R extends { enrollmentId?: string | null }> {
  /** An outcome decided before the seat (who may, the window, prerequisites): stored, nothing changes. */
  decided: R | null;
  /** ACTIVE or WAITLISTED; its `enrollmentId` is set to the new enrollment's. */
  seated: R;
  /** ALREADY_ENROLLED; its `enrollmentId` is set to the learner's enrollment. */
  already: R;
  full: R;
}

/**
 * Enrolls one learner, idempotently, in one round trip: enroll_learner (see its migration)
 * claims the key, takes the learner's lock, the seat (else the waitlist, else COHORT_FULL),
 * records the enrollment and its event, and stores the result for that outcome; the statement
 * commits as it ends. A replay, a request in flight and a reused key are answered as the
 * kernel's claim() answers them.
 */
export async function enrollOne<R extends { enrollmentId?: string | null }>(
  uow: UnitOfWork,
  idem: { tenantId: string; scope: string; key: string; input: unknown },
  cohort: CohortRow,
  learnerId: string,
  enrolledBy: string | null,
  results: EnrollResults<R>,
): Promise<{ outcome: 'REPLAY' | 'DECIDED' | 'ACTIVE' | 'WAITLISTED' | 'ALREADY_ENROLLED' | 'COHORT_FULL'; result: R }> {
  checkIdempotencyKey(idem.key);
  const fp = fingerprint(idem.input);
  const enrollmentId = randomUUID();
  const event = eventEnvelope(LearnerEnrolled, { tenantId: idem.tenantId, aggregateId: enrollmentId, payload: enrolledPayload(cohort, enrollmentId, learnerId, false) });
  const json = (v: unknown) => (v == null ? null : JSON.stringify(v));
  let row: ClaimRow & { outcome: string | null; result: R | null };
  try {
    [row] = (await uow.statement<ClaimRow & { outcome: string | null; result: R | null }>(
      `select * from enroll_learner(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?::jsonb, ?::jsonb)`,
      [
        idem.tenantId, idem.scope, idem.key, fp, IDEMPOTENCY_TTL_HOURS,
        cohort.cohortId, cohort.offeringId, learnerId, enrolledBy, cohort.waitlistEnabled,
        enrollmentId, json({ ...event, aggregateType: LearnerEnrolled.aggregate }),
        json(results.decided), json({ ...results.seated, enrollmentId }), json(results.already), json(results.full),
      ],
    )) as [ClaimRow & { outcome: string | null; result: R | null }];
  } catch (err) {
    if (completeRefused(err)) throw completeConflict();
    throw err;
  }
  const replay = replayOf<R>(row, fp, { input: idem.input });
  if (replay) return { outcome: 'REPLAY', result: replay.value };
  return { outcome: row.outcome as 'ACTIVE', result: row.result! };
}

export const enrolledPayload = (cohort: Pick<CohortRow, 'offeringId' | 'cohortId' | 'courseId' | 'courseVersionId'>, enrollmentId: string, learnerId: string, promoted: boolean) => ({
  enrollmentId,
  learnerId,
  offeringId: cohort.offeringId,
  cohortId: cohort.cohortId,
  courseId: cohort.courseId,
  courseVersionId: cohort.courseVersionId,
  promotedFromWaitlist: promoted,
});

/** Locks cohort rows (in id order) for the rest of the transaction. */
export async function lockCohorts(em: EntityManager, tenantId: string, cohortIds: string[]): Promise<void> {
  const ids = [...new Set(cohortIds)].sort();
  await em.execute(`select id from cohorts where tenant_id = ? and id = any(${arr(ids, 'uuid')}) order by id for no key update`, [tenantId, ...ids]);
}

/**
 * Gives up to `seats` free seats of a locked cohort to its earliest waitlisted enrollments
 * (seats_taken grows by the number promoted) and records LearnerEnrolled for each.
 */
export async function promoteWaitlisted(em: EntityManager, tenantId: string, cohort: CohortRow, seats: number): Promise<string[]> {
  if (seats <= 0) return [];
  const promoted = await em.execute<{ id: string; learner_id: string }[]>(
    `update enrollments e set status = 'ACTIVE', waitlist_seq = null, enrolled_at = now(), updated_at = now()
       from (select id from enrollments where tenant_id = ? and cohort_id = ? and status = 'WAITLISTED' order by waitlist_seq limit ?) next
      where e.tenant_id = ? and e.id = next.id returning e.id, e.learner_id`,
    [tenantId, cohort.cohortId, seats, tenantId],
  );
  if (!promoted.length) return [];
  await em.execute(`update cohorts set seats_taken = seats_taken + ?, updated_at = now() where tenant_id = ? and id = ?`, [promoted.length, tenantId, cohort.cohortId]);
  await recordEvents(
    em,
    LearnerEnrolled,
    tenantId,
    promoted.map((p) => ({ aggregateId: p.id, payload: enrolledPayload(cohort, p.id, p.learner_id, true) })),
  );
  return promoted.map((p) => p.id);
}

/** Frees one seat of a locked cohort: it goes to the earliest waitlisted, if any. */
async function freeSeat(em: EntityManager, tenantId: string, cohort: CohortRow): Promise<string | null> {
  await em.execute(`update cohorts set seats_taken = seats_taken - 1, updated_at = now() where tenant_id = ? and id = ?`, [tenantId, cohort.cohortId]);
  const [promoted] = await promoteWaitlisted(em, tenantId, cohort, 1);
  return promoted ?? null;
}

export interface EnrollmentRow {
  id: string;
  learnerId: string;
  cohortId: string;
  offeringId: string;
  status: string;
}

export async function lockEnrollment(em: EntityManager, tenantId: string, id: string): Promise<EnrollmentRow | null> {
  const [r] = await em.execute<{ id: string; learner_id: string; cohort_id: string; offering_id: string; status: string }[]>(
    `select id, learner_id, cohort_id, offering_id, status from enrollments where tenant_id = ? and id = ? for update`,
    [tenantId, id],
  );
  return r ? { id: r.id, learnerId: r.learner_id, cohortId: r.cohort_id, offeringId: r.offering_id, status: r.status } : null;
}

/** Drops an ACTIVE or WAITLISTED enrollment (cohort locked by the caller); returns the promoted enrollment. */
export async function drop(em: EntityManager, tenantId: string, cohort: CohortRow, e: EnrollmentRow, droppedBy: string | null): Promise<string | null> {
  await em.execute(
    `update enrollments set status = 'DROPPED', waitlist_seq = null, dropped_at = now(), updated_at = now() where tenant_id = ? and id = ?`,
    [tenantId, e.id],
  );
  const wasActive = e.status === 'ACTIVE';
  await recordEvent(em, EnrollmentDropped, {
    tenantId,
    aggregateId: e.id,
    payload: { enrollmentId: e.id, learnerId: e.learnerId, offeringId: cohort.offeringId, cohortId: cohort.cohortId, courseId: cohort.courseId, courseVersionId: cohort.courseVersionId, wasActive, droppedBy },
  });
  return wasActive ? freeSeat(em, tenantId, cohort) : null;
}

/** Moves an ACTIVE enrollment to `to` (both cohorts locked by the caller); false when `to` is full. */
export async function move(em: EntityManager, tenantId: string, from: CohortRow, to: CohortRow, e: EnrollmentRow): Promise<{ moved: boolean; promoted: string | null }> {
  const seated = await em.execute<{ id: string }[]>(
    `update cohorts set seats_taken = seats_taken + 1, updated_at = now() where tenant_id = ? and id = ? and seats_taken < capacity returning id`,
    [tenantId, to.cohortId],
  );
  if (!seated.length) return { moved: false, promoted: null };
  await em.execute(`update enrollments set cohort_id = ?, updated_at = now() where tenant_id = ? and id = ?`, [to.cohortId, tenantId, e.id]);
  await recordEvent(em, EnrollmentMoved, {
    tenantId,
    aggregateId: e.id,
    payload: { enrollmentId: e.id, learnerId: e.learnerId, offeringId: from.offeringId, fromCohortId: from.cohortId, toCohortId: to.cohortId },
  });
  return { moved: true, promoted: await freeSeat(em, tenantId, from) };
}

export type BatchOutcome = { status: 'ENROLLED' | 'WAITLISTED' | 'ALREADY_ENROLLED'; enrollmentId: string } | { status: 'REJECTED'; reason: string };

/**
 * Enrolls many distinct learners into one cohort (a roster batch) in a handful of statements:
 * seats first come first served in the given order, then the waitlist (when on), then
 * rejected as full.
 */
export async function enrollMany(em: EntityManager, tenantId: string, cohort: CohortRow, learnerIds: string[], enrolledBy: string | null): Promise<Map<string, BatchOutcome>> {
  const out = new Map<string, BatchOutcome>();
  if (!learnerIds.length) return out;
  const keys = learnerIds.map((l) => lockKey(tenantId, cohort.offeringId, l)).sort();
  await em.execute(`select count(pg_advisory_xact_lock(hashtextextended(k, 0))) from (select k from unnest(${arr(keys, 'text')}) with ordinality u(k, n) order by n) s`, keys);
  const existing = await em.execute<{ id: string; learner_id: string }[]>(
    `select id, learner_id from enrollments where tenant_id = ? and offering_id = ? and status <> 'DROPPED' and learner_id = any(${arr(learnerIds, 'uuid')})`,
    [tenantId, cohort.offeringId, ...learnerIds],
  );
  for (const r of existing) out.set(r.learner_id, { status: 'ALREADY_ENROLLED', enrollmentId: r.id });
  let fresh = learnerIds.filter((l) => !out.has(l));
  if (fresh.length && cohort.prerequisiteCourseIds.length) {
    const rows = await em.execute<{ learner_id: string; n: string }[]>(
      `select learner_id, count(*) as n from course_completions where tenant_id = ? and learner_id = any(${arr(fresh, 'uuid')}) and course_id = any(${arr(cohort.prerequisiteCourseIds, 'uuid')}) group by learner_id`,
      [tenantId, ...fresh, ...cohort.prerequisiteCourseIds],
    );
    const complete = new Set(rows.filter((r) => Number(r.n) === cohort.prerequisiteCourseIds.length).map((r) => r.learner_id));
    for (const l of fresh) if (!complete.has(l)) out.set(l, { status: 'REJECTED', reason: 'prerequisites not met' });
    fresh = fresh.filter((l) => complete.has(l));
  }
  if (!fresh.length) return out;
  const [c] = await em.execute<{ seats_taken: number; capacity: number; waitlist_seq: number }[]>(
    `select seats_taken, capacity, waitlist_seq from cohorts where tenant_id = ? and id = ? for no key update`,
    [tenantId, cohort.cohortId],
  );
  if (!c) throw new Error(`cohort ${cohort.cohortId} disappeared`);
  const seats = Math.max(0, Math.min(fresh.length, c.capacity - c.seats_taken));
  const waitlisted = cohort.waitlistEnabled ? fresh.length - seats : 0;
  await em.execute(`update cohorts set seats_taken = seats_taken + ?, waitlist_seq = waitlist_seq + ?, updated_at = now() where tenant_id = ? and id = ?`, [
    seats,
    waitlisted,
    tenantId,
    cohort.cohortId,
  ]);
  const ids: string[] = [];
  const learners: string[] = [];
  const statuses: string[] = [];
  const seqs: (number | null)[] = [];
  const events: { aggregateId: string; payload: ReturnType<typeof enrolledPayload> }[] = [];
  fresh.forEach((learnerId, i) => {
    if (i >= seats + waitlisted) {
      out.set(learnerId, { status: 'REJECTED', reason: 'cohort full' });
      return;
    }
    const id = randomUUID();
    const active = i < seats;
    ids.push(id);
    learners.push(learnerId);
    statuses.push(active ? 'ACTIVE' : 'WAITLISTED');
    seqs.push(active ? null : c.waitlist_seq + (i - seats) + 1);
    out.set(learnerId, { status: active ? 'ENROLLED' : 'WAITLISTED', enrollmentId: id });
    if (active) events.push({ aggregateId: id, payload: enrolledPayload(cohort, id, learnerId, false) });
  });
  if (ids.length) {
    await em.execute(
      `insert into enrollments (id, tenant_id, offering_id, cohort_id, learner_id, status, waitlist_seq, enrolled_by, enrolled_at)
       select u.id, ?, ?, ?, u.learner_id, u.status, u.seq, ?, case when u.status = 'ACTIVE' then now() end
         from unnest(${arr(ids, 'uuid')}, ${arr(learners, 'uuid')}, ${arr(statuses, 'text')}, ${arr(seqs, 'int')}) with ordinality as u(id, learner_id, status, seq, n)
        order by u.n`,
      [tenantId, cohort.offeringId, cohort.cohortId, enrolledBy, ...ids, ...learners, ...statuses, ...seqs],
    );
  }
  await recordEvents(em, LearnerEnrolled, tenantId, events);
  return out;
}

/** The cohort of an enrollment, read without a lock (to lock cohorts first); null when none. */
export async function enrollmentCohortId(em: EntityManager, tenantId: string, id: string): Promise<string | null> {
  const [peek] = await em.execute<Record<'cohort_id', unknown>[]>(`select cohort_id from enrollments where tenant_id = ? and id = ?`, [tenantId, id]);
  return peek ? String(peek.cohort_id) : null;
}

/** A course completion, as learning's CourseCompleted reports it. */
export interface CompletionInput {
  learnerId: string;
  courseId: string;
  courseVersionId: string;
  enrollmentId: string;
  completedAt: Date;
}

/** Records the completion (prerequisites are checked against these); a second one is a no-op. */
export async function recordCompletion(em: EntityManager, tenantId: string, c: CompletionInput): Promise<void> {
  await em.execute(
    `insert into course_completions (tenant_id, learner_id, course_id, course_version_id, enrollment_id, completed_at)
     values (?, ?, ?, ?, ?, ?) on conflict do nothing`,
    [tenantId, c.learnerId, c.courseId, c.courseVersionId, c.enrollmentId, c.completedAt],
  );
}

/** An enrollment that just became COMPLETED, with its offering's course. */
export interface CompletedEnrollmentRow {
  id: string;
  learnerId: string;
  offeringId: string;
  cohortId: string;
  courseId: string;
  courseVersionId: string;
}

/** Makes the ACTIVE enrollment COMPLETED; null when it is not ACTIVE (or not there). */
export async function completeEnrollment(em: EntityManager, tenantId: string, enrollmentId: string): Promise<CompletedEnrollmentRow | null> {
  const [done] = await em.execute<Record<'id' | 'learner_id' | 'offering_id' | 'cohort_id' | 'course_id' | 'course_version_id', unknown>[]>(
    `update enrollments e set status = 'COMPLETED', completed_at = now(), updated_at = now()
       from offerings o
      where e.tenant_id = ? and e.id = ? and e.status = 'ACTIVE' and o.tenant_id = e.tenant_id and o.id = e.offering_id
      returning e.id, e.learner_id, e.offering_id, e.cohort_id, o.course_id, o.course_version_id`,
    [tenantId, enrollmentId],
  );
  if (!done) return null;
  return {
    id: String(done.id),
    learnerId: String(done.learner_id),
    offeringId: String(done.offering_id),
    cohortId: String(done.cohort_id),
    courseId: String(done.course_id),
    courseVersionId: String(done.course_version_id),
  };
}
