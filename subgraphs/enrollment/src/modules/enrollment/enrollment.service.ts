// enrollLearner, dropEnrollment, moveEnrollment: who may, and which typed outcome; the seat
// work itself is in enrollment.store.ts. Calls to identity happen before the transaction opens, so the
// transaction (the hot path) stays a few statements long.
import { badInput, forbidden, globalId, inputId, notFound, principalOf, type Actor } from '@lectern/kernel';
import { adminWrites, requireReader, teaches } from '../../access.ts';
import { enrollmentError, type MutationResult } from '../../errors.ts';
import { runMutation, type Idempotent, type ServiceDeps } from './mutation.ts';
import { drop, enrollmentCohortId, enrollOne, loadCohort, lockCohorts, lockEnrollment, move, readCohortFor, type CohortRow } from './enrollment.store.ts';

export interface EnrollLearnerInput extends Idempotent {
  cohortId: string;
  learnerId?: string | null;
}
export interface DropEnrollmentInput extends Idempotent {
  enrollmentId: string;
}
export interface MoveEnrollmentInput extends Idempotent {
  enrollmentId: string;
  toCohortId: string;
}

/** Why self-enrollment is not possible now (null: it is). */
export function selfEnrollmentBlocked(cohort: CohortRow, now = new Date()) {
  if (now >= cohort.endsAt) return enrollmentError('OFFERING_ENDED', 'The offering has ended');
  if (!cohort.selfEnrollment) return enrollmentError('SELF_ENROLLMENT_DISABLED', 'This offering does not allow self-enrollment');
  if ((cohort.enrollmentOpensAt && now < cohort.enrollmentOpensAt) || (cohort.enrollmentClosesAt && now >= cohort.enrollmentClosesAt)) {
    return enrollmentError('ENROLLMENT_CLOSED', 'Enrollment for this offering is not open');
  }
  return null;
}

export class EnrollmentService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async enrollLearner(input: EnrollLearnerInput): Promise<MutationResult> {
    const { actor, remote } = this.#deps;
    requireReader(actor);
    const learnerId = input.learnerId != null ? inputId(input.learnerId, 'User', 'learnerId') : actor.userId;
    const cohortId = inputId(input.cohortId, 'Cohort', 'cohortId');
    if (!learnerId) throw badInput('learnerId is required for API keys', 'learnerId');
    const self = learnerId === actor.userId;
    // Someone else: only ORG_ADMIN or an instructor of the cohort (checked once the cohort is read);
    // the learner must be an active member (asked of identity first).
    let member = self;
    if (!self) {
      if (!adminWrites(actor) && !actor.roles.includes('INSTRUCTOR')) throw forbidden('Only organization admins and the cohort\'s instructors can enroll others');
      member = (await remote.members(actor.tenantId, { userIds: [learnerId] })).length > 0;
    }
    // What needs no lock is read and decided first, in one round trip; the change is another
    // (enrollment.store.ts enrollOne), which stores the result prepared here for the outcome it reaches.
    const read = await readCohortFor(this.#deps.uow, actor.tenantId, cohortId, learnerId);
    const manager = read !== null && (adminWrites(actor) || teaches(actor, read.cohort));
    if (!read || (!self && !manager)) {
      // Refused before any change, after the key's claim, as every mutation is: a replay or a
      // reused key is answered as such; otherwise the refusal, and no record is kept.
      const refusal = read ? forbidden('Only organization admins and the cohort\'s instructors can enroll others') : notFound('Cohort');
      return runMutation({ ...this.#deps, actor }, 'enrollLearner', input, async () => {
        throw refusal;
      });
    }
    const { cohort, missing, existingId } = read;
    // Managers may enroll outside the self-enrollment window, never once the offering ended.
    const blocked = manager ? (new Date() >= cohort.endsAt ? enrollmentError('OFFERING_ENDED', 'The offering has ended') : null) : selfEnrollmentBlocked(cohort);
    const already: MutationResult = { enrollmentId: null, errors: [enrollmentError('ALREADY_ENROLLED', 'The learner is already enrolled in this offering')] };
    const full: MutationResult = { enrollmentId: null, errors: [enrollmentError('COHORT_FULL', 'The cohort has no free seat', 'cohortId')] };
    // In this order; each is a valid answer as of the read (a full cohort without a waitlist is
    // answered without touching its row; enroll_learner rechecks the rest under its locks).
    const decided: MutationResult | null = !member
      ? { enrollmentId: null, errors: [enrollmentError('NOT_A_MEMBER', 'The learner is not an active member of the organization', 'learnerId')] }
      : blocked
        ? { enrollmentId: null, errors: [blocked] }
        : existingId
          ? { ...already, enrollmentId: existingId }
          : missing.length
            ? { enrollmentId: null, errors: [enrollmentError('PREREQUISITES_NOT_MET', `Complete these courses first: ${missing.map((id) => globalId('Course', id)).join(', ')}`)] }
            : cohort.seatsTaken >= cohort.capacity && !cohort.waitlistEnabled
              ? full
              : null;
    const { idempotencyKey, ...fields } = input;
    try {
      const { result } = await enrollOne<MutationResult>(
        this.#deps.uow,
        { tenantId: actor.tenantId, scope: `enrollLearner:${principalOf(actor)}`, key: idempotencyKey, input: fields },
        cohort,
        learnerId,
        actor.userId,
        {
          decided,
          seated: { enrollmentId: null, cohortId: cohort.cohortId, errors: [] },
          already,
          full,
        },
      );
      return result;
    } finally {
      // Payloads load what the mutation left, not what the request saw before it.
      this.#deps.loaders.clearAll();
    }
  }

  async dropEnrollment(input: DropEnrollmentInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireReader(actor);
    return runMutation({ ...this.#deps, actor }, 'dropEnrollment', input, async (em, tenantId) => {
      const { cohort, enrollment } = await this.#target(em, tenantId, input.enrollmentId);
      if (enrollment.learnerId !== actor.userId) assertManager(actor, cohort);
      if (enrollment.status !== 'ACTIVE' && enrollment.status !== 'WAITLISTED') {
        return { enrollmentId: enrollment.id, errors: [enrollmentError('ENROLLMENT_NOT_ACTIVE', `The enrollment is ${enrollment.status}`)] };
      }
      const promoted = await drop(em, tenantId, cohort, enrollment, actor.userId);
      return { enrollmentId: enrollment.id, promotedIds: promoted ? [promoted] : [], errors: [] };
    });
  }

  async moveEnrollment(input: MoveEnrollmentInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireReader(actor);
    return runMutation({ ...this.#deps, actor }, 'moveEnrollment', input, async (em, tenantId) => {
      const toId = inputId(input.toCohortId, 'Cohort', 'toCohortId');
      const first = await this.#target(em, tenantId, input.enrollmentId, [toId]);
      const { cohort: from, enrollment } = first;
      const to = await loadCohort(em, tenantId, toId);
      if (!to) throw notFound('Cohort');
      assertManager(actor, from);
      assertManager(actor, to);
      if (to.offeringId !== from.offeringId) throw badInput('toCohortId must be a cohort of the same offering', 'toCohortId');
      if (to.cohortId === from.cohortId) return { enrollmentId: enrollment.id, errors: [enrollmentError('SAME_COHORT', 'The enrollment is already in that cohort', 'toCohortId')] };
      if (enrollment.status !== 'ACTIVE') return { enrollmentId: enrollment.id, errors: [enrollmentError('ENROLLMENT_NOT_ACTIVE', 'Only an active enrollment can move')] };
      const { moved, promoted } = await move(em, tenantId, from, to, enrollment);
      if (!moved) return { enrollmentId: enrollment.id, errors: [enrollmentError('COHORT_FULL', 'The target cohort has no free seat', 'toCohortId')] };
      return { enrollmentId: enrollment.id, promotedIds: promoted ? [promoted] : [], errors: [] };
    });
  }

  /**
   * The enrollment and its cohort, locked (cohorts first, in id order, with `alsoLock`), or
   * NOT_FOUND when the caller may not see it.
   */
  async #target(em: Parameters<Parameters<typeof runMutation>[3]>[0], tenantId: string, enrollmentId: string, alsoLock: string[] = []) {
    const { actor } = this.#deps;
    const id = inputId(enrollmentId, 'Enrollment', 'enrollmentId');
    const peek = await enrollmentCohortId(em, tenantId, id);
    if (!peek) throw notFound('Enrollment');
    await lockCohorts(em, tenantId, [peek, ...alsoLock]);
    const enrollment = await lockEnrollment(em, tenantId, id);
    const cohort = enrollment ? await loadCohort(em, tenantId, enrollment.cohortId) : null;
    if (!enrollment || !cohort || enrollment.cohortId !== peek) throw notFound('Enrollment');
    // Invisible to the caller: indistinguishable from missing.
    if (enrollment.learnerId !== actor.userId && !adminWrites(actor) && !teaches(actor, cohort)) throw notFound('Enrollment');
    return { cohort, enrollment };
  }
}

function assertManager(actor: Actor, cohort: CohortRow) {
  if (!adminWrites(actor) && !teaches(actor, cohort)) throw forbidden('Only organization admins and the cohort\'s instructors can do this');
}
