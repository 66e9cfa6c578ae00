// enrollLearner, dropEnrollment, moveEnrollment: who may, and which typed outcome; the seat
// work itself is in seats.ts. Calls to identity happen before the transaction opens, so the
// transaction (the hot path) stays a few statements long.
import { badInput, forbidden, isUuid, notFound, type Actor } from '@lectern/kernel';
import { adminWrites, requireReader, teaches } from '../../access.ts';
import { enrollmentError, type MutationResult } from '../../errors.ts';
import { runMutation, type Idempotent, type ServiceDeps } from '../mutation.ts';
import { drop, enrollOne, loadCohort, loadCohortFor, lockCohorts, lockEnrollment, move, type CohortRow } from './seats.ts';

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
    if (input.learnerId != null && !isUuid(input.learnerId)) throw badInput('learnerId is not a user id', 'learnerId');
    const learnerId = (input.learnerId ?? actor.userId)?.toLowerCase();
    if (!learnerId) throw badInput('learnerId is required for API keys', 'learnerId');
    const self = learnerId === actor.userId;
    // Someone else: only ORG_ADMIN or an instructor of the cohort (checked in the transaction);
    // the learner must be an active member (asked of identity first).
    let member = self;
    if (!self) {
      if (!adminWrites(actor) && !actor.roles.includes('INSTRUCTOR')) throw forbidden('Only organization admins and the cohort\'s instructors can enroll others');
      member = (await remote.members(actor.tenantId, { userIds: [learnerId] })).length > 0;
    }
    const result = await runMutation<EnrollLearnerInput, MutationResult>({ ...this.#deps, actor }, 'enrollLearner', input, async (em, tenantId) => {
      if (!isUuid(input.cohortId)) throw notFound('Cohort');
      const loaded = await loadCohortFor(em, tenantId, input.cohortId.toLowerCase(), learnerId);
      if (!loaded) throw notFound('Cohort');
      const { cohort } = loaded;
      const manager = adminWrites(actor) || teaches(actor, cohort);
      if (!self && !manager) throw forbidden('Only organization admins and the cohort\'s instructors can enroll others');
      if (!member) return { enrollmentId: null, errors: [enrollmentError('NOT_A_MEMBER', 'The learner is not an active member of the organization', 'learnerId')] };
      // Managers may enroll outside the self-enrollment window, never once the offering ended.
      const blocked = manager ? (new Date() >= cohort.endsAt ? enrollmentError('OFFERING_ENDED', 'The offering has ended') : null) : selfEnrollmentBlocked(cohort);
      if (blocked) return { enrollmentId: null, errors: [blocked] };
      const outcome = await enrollOne(em, tenantId, cohort, learnerId, actor.userId, { loaded });
      switch (outcome.kind) {
        case 'ACTIVE':
          return { enrollmentId: outcome.enrollmentId, cohortId: cohort.cohortId, errors: [] };
        case 'WAITLISTED':
          return { enrollmentId: outcome.enrollmentId, cohortId: cohort.cohortId, errors: [] };
        case 'ALREADY_ENROLLED':
          return { enrollmentId: outcome.enrollmentId, errors: [enrollmentError('ALREADY_ENROLLED', 'The learner is already enrolled in this offering')] };
        case 'PREREQUISITES_NOT_MET':
          return {
            enrollmentId: null,
            errors: [enrollmentError('PREREQUISITES_NOT_MET', `Complete these courses first: ${outcome.missing.join(', ')}`)],
          };
        case 'COHORT_FULL':
          return { enrollmentId: null, errors: [enrollmentError('COHORT_FULL', 'The cohort has no free seat', 'cohortId')] };
      }
    });
    return result;
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
      if (!isUuid(input.toCohortId)) throw notFound('Cohort');
      const toId = input.toCohortId.toLowerCase();
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
    if (!isUuid(enrollmentId)) throw notFound('Enrollment');
    const id = enrollmentId.toLowerCase();
    const [peek] = await em.execute<{ cohort_id: string }[]>(`select cohort_id from enrollments where tenant_id = ? and id = ?`, [tenantId, id]);
    if (!peek) throw notFound('Enrollment');
    await lockCohorts(em, tenantId, [peek.cohort_id, ...alsoLock]);
    const enrollment = await lockEnrollment(em, tenantId, id);
    const cohort = enrollment ? await loadCohort(em, tenantId, enrollment.cohortId) : null;
    if (!enrollment || !cohort || enrollment.cohortId !== peek.cohort_id) throw notFound('Enrollment');
    // Invisible to the caller: indistinguishable from missing.
    if (enrollment.learnerId !== actor.userId && !adminWrites(actor) && !teaches(actor, cohort)) throw notFound('Enrollment');
    return { cohort, enrollment };
  }
}

function assertManager(actor: Actor, cohort: CohortRow) {
  if (!adminWrites(actor) && !teaches(actor, cohort)) throw forbidden('Only organization admins and the cohort\'s instructors can do this');
}
