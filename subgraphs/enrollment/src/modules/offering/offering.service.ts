// Scheduling: offerings (pinned to the course's published version, prerequisites snapshotted
// from catalog) and their cohorts (capacity, instructors). ORG_ADMIN only.
import { randomUUID } from 'node:crypto';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { badInput, globalId, inputId, notFound } from '@lectern/kernel';
import { recordEvent } from '@lectern/kernel/outbox';
import { requireAdmin } from '../../access.ts';
import { CohortInstructorsChanged, OfferingVersionChanged } from '@lectern/contracts/enrollment';
import { enrollmentError, type MutationResult } from '../../errors.ts';
import { runMutation, type Idempotent, type ServiceDeps } from '../enrollment/mutation.ts';
import { lockCohorts, loadCohort, promoteWaitlisted } from '../enrollment/enrollment.store.ts';
import { Cohort, Offering, OfferingVersionChange } from './offering.entity.ts';
import { renameCohort, setCohortCapacity } from './offering.store.ts';

type DateInput = Date | string;

export interface CreateOfferingInput extends Idempotent {
  courseId: string;
  title?: string | null;
  startsAt: DateInput;
  endsAt: DateInput;
  enrollmentOpensAt?: DateInput | null;
  enrollmentClosesAt?: DateInput | null;
  selfEnrollment?: boolean | null;
  waitlistEnabled?: boolean | null;
}
export interface UpdateOfferingInput extends Idempotent {
  offeringId: string;
  title?: string | null;
  startsAt?: DateInput | null;
  endsAt?: DateInput | null;
  enrollmentOpensAt?: DateInput | null;
  enrollmentClosesAt?: DateInput | null;
  selfEnrollment?: boolean | null;
  waitlistEnabled?: boolean | null;
}
export interface CreateCohortInput extends Idempotent {
  offeringId: string;
  name: string;
  capacity: number;
  instructorIds?: string[] | null;
}
export interface UpdateCohortInput extends Idempotent {
  cohortId: string;
  name?: string | null;
  capacity?: number | null;
}
export interface SetCohortInstructorsInput extends Idempotent {
  cohortId: string;
  instructorIds: string[];
}
export interface ChangeOfferingVersionInput extends Idempotent {
  offeringId: string;
  courseVersionId: string;
  reason: string;
}

const MAX_CAPACITY = 100_000;
const MAX_INSTRUCTORS = 50;

function toDate(v: DateInput, field: string): Date {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw badInput(`${field} is not a valid date-time`, field);
  return d;
}
const optDate = (v: DateInput | null | undefined, field: string) => (v == null ? null : toDate(v, field));

function cleanText(v: string, field: string, max = 200): string {
  const t = v.trim();
  if (t.length < 1 || t.length > max) throw badInput(`${field} must be 1 to ${max} characters`, field);
  return t;
}

function checkSchedule(o: { startsAt: Date; endsAt: Date; enrollmentOpensAt?: Date | null; enrollmentClosesAt?: Date | null }) {
  if (o.endsAt <= o.startsAt) throw badInput('endsAt must be after startsAt', 'endsAt');
  if (o.enrollmentOpensAt && o.enrollmentClosesAt && o.enrollmentClosesAt <= o.enrollmentOpensAt) {
    throw badInput('enrollmentClosesAt must be after enrollmentOpensAt', 'enrollmentClosesAt');
  }
  if (o.enrollmentClosesAt && o.enrollmentClosesAt > o.endsAt) throw badInput('enrollmentClosesAt must not be after endsAt', 'enrollmentClosesAt');
}

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) throw badInput(`capacity must be between 1 and ${MAX_CAPACITY}`, 'capacity');
  return capacity;
}

/** User global ids → their UUIDs, without duplicates; BAD_USER_INPUT for anything else. */
function checkIds(ids: string[], field: string): string[] {
  if (ids.length > MAX_INSTRUCTORS) throw badInput(`at most ${MAX_INSTRUCTORS} instructors`, field);
  return [...new Set(ids.map((id) => inputId(id, 'User', field)))];
}

export class OfferingService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async createOffering(input: CreateOfferingInput): Promise<MutationResult> {
    const { actor, remote } = this.#deps;
    requireAdmin(actor);
    const schedule = {
      startsAt: toDate(input.startsAt, 'startsAt'),
      endsAt: toDate(input.endsAt, 'endsAt'),
      enrollmentOpensAt: optDate(input.enrollmentOpensAt, 'enrollmentOpensAt'),
      enrollmentClosesAt: optDate(input.enrollmentClosesAt, 'enrollmentClosesAt'),
    };
    checkSchedule(schedule);
    const title = input.title != null ? cleanText(input.title, 'title') : null;
    const courseId = inputId(input.courseId, 'Course', 'courseId');
    // Asked before the transaction opens: catalog's answer pins the version. Catalog leaves
    // out unknown courses and other organizations' alike: one answer for both.
    const [course] = await remote.courses(actor.tenantId, [courseId]);
    return runMutation({ ...this.#deps, actor }, 'createOffering', input, async (em, tenantId) => {
      if (!course) return { offeringId: null, errors: [enrollmentError('COURSE_NOT_FOUND', 'No such course in this organization', 'courseId')] };
      if (course.status !== 'PUBLISHED' || !course.publishedVersionId) {
        return { offeringId: null, errors: [enrollmentError('COURSE_NOT_PUBLISHED', 'The course is not published; an offering runs a published course version', 'courseId')] };
      }
      const offering = em.create(Offering, {
        id: randomUUID(),
        tenantId,
        courseId,
        courseVersionId: course.publishedVersionId,
        title,
        ...schedule,
        selfEnrollment: input.selfEnrollment ?? false,
        waitlistEnabled: input.waitlistEnabled ?? false,
        prerequisiteCourseIds: course.prerequisiteCourseIds,
        createdBy: actor.userId,
      });
      await em.flush();
      return { offeringId: offering.id, errors: [] };
    });
  }

  async updateOffering(input: UpdateOfferingInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAdmin(actor);
    return runMutation({ ...this.#deps, actor }, 'updateOffering', input, async (em) => {
      const offering = await findOffering(em, input.offeringId);
      if (input.title !== undefined) offering.title = input.title === null ? null : cleanText(input.title, 'title');
      if (input.startsAt != null) offering.startsAt = toDate(input.startsAt, 'startsAt');
      if (input.endsAt != null) offering.endsAt = toDate(input.endsAt, 'endsAt');
      if (input.enrollmentOpensAt !== undefined) offering.enrollmentOpensAt = optDate(input.enrollmentOpensAt, 'enrollmentOpensAt');
      if (input.enrollmentClosesAt !== undefined) offering.enrollmentClosesAt = optDate(input.enrollmentClosesAt, 'enrollmentClosesAt');
      if (input.selfEnrollment != null) offering.selfEnrollment = input.selfEnrollment;
      if (input.waitlistEnabled != null) offering.waitlistEnabled = input.waitlistEnabled;
      checkSchedule(offering);
      await em.flush();
      return { offeringId: offering.id, errors: [] };
    });
  }

  async createCohort(input: CreateCohortInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAdmin(actor);
    const name = cleanText(input.name, 'name');
    const capacity = checkCapacity(input.capacity);
    const instructorIds = checkIds(input.instructorIds ?? [], 'instructorIds');
    const notInstructors = await this.#notInstructors(actor.tenantId, instructorIds);
    return runMutation({ ...this.#deps, actor }, 'createCohort', input, async (em, tenantId) => {
      const offering = await findOffering(em, input.offeringId);
      if (notInstructors.length) return { cohortId: null, errors: [notInstructorError(notInstructors)] };
      const cohort = em.create(Cohort, { id: randomUUID(), tenantId, offeringId: offering.id, name, capacity, instructorIds });
      await em.flush();
      await recordEvent(em, CohortInstructorsChanged, { tenantId, aggregateId: cohort.id, payload: { cohortId: cohort.id, offeringId: offering.id, instructorIds } });
      return { cohortId: cohort.id, offeringId: offering.id, errors: [] };
    });
  }

  /** A raised capacity goes to the waitlist at once; it cannot drop below the seats taken. */
  async updateCohort(input: UpdateCohortInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAdmin(actor);
    const name = input.name != null ? cleanText(input.name, 'name') : null;
    const capacity = input.capacity != null ? checkCapacity(input.capacity) : null;
    return runMutation({ ...this.#deps, actor }, 'updateCohort', input, async (em, tenantId) => {
      const cohortId = inputId(input.cohortId, 'Cohort', 'cohortId');
      await lockCohorts(em, tenantId, [cohortId]);
      const cohort = await loadCohort(em, tenantId, cohortId);
      if (!cohort) throw notFound('Cohort');
      if (name !== null) await renameCohort(em, tenantId, cohort.cohortId, name);
      let promotedIds: string[] = [];
      if (capacity !== null && capacity !== cohort.capacity) {
        if (capacity < cohort.seatsTaken) {
          return {
            cohortId: cohort.cohortId,
            errors: [enrollmentError('CAPACITY_BELOW_SEATS_TAKEN', `${cohort.seatsTaken} seats are taken; capacity cannot be lower`, 'capacity')],
          };
        }
        await setCohortCapacity(em, tenantId, cohort.cohortId, capacity);
        promotedIds = await promoteWaitlisted(em, tenantId, cohort, capacity - cohort.seatsTaken);
      }
      return { cohortId: cohort.cohortId, promotedIds, errors: [] };
    });
  }

  async setCohortInstructors(input: SetCohortInstructorsInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAdmin(actor);
    const instructorIds = checkIds(input.instructorIds, 'instructorIds');
    const notInstructors = await this.#notInstructors(actor.tenantId, instructorIds);
    return runMutation({ ...this.#deps, actor }, 'setCohortInstructors', input, async (em, tenantId) => {
      const cohort = await em.findOne(Cohort, { id: inputId(input.cohortId, 'Cohort', 'cohortId') });
      if (!cohort) throw notFound('Cohort');
      if (notInstructors.length) return { cohortId: cohort.id, errors: [notInstructorError(notInstructors)] };
      cohort.instructorIds = instructorIds;
      await em.flush();
      await recordEvent(em, CohortInstructorsChanged, { tenantId, aggregateId: cohort.id, payload: { cohortId: cohort.id, offeringId: cohort.offeringId, instructorIds } });
      return { cohortId: cohort.id, errors: [] };
    });
  }

  /**
   * Moves the offering to another published version of its course: audited (who, when, from,
   * to, why) and announced (OfferingVersionChanged: learning carries progress over). Catalog
   * is asked first, outside the transaction; the offering's row is locked while it changes.
   */
  async changeOfferingVersion(input: ChangeOfferingVersionInput): Promise<MutationResult> {
    const { actor, remote } = this.#deps;
    requireAdmin(actor);
    const offeringId = inputId(input.offeringId, 'Offering', 'offeringId');
    const versionId = inputId(input.courseVersionId, 'CourseVersion', 'courseVersionId');
    const reason = cleanText(input.reason, 'reason', 500);
    const [version] = await remote.courseVersions(actor.tenantId, [versionId]);
    return runMutation({ ...this.#deps, actor }, 'changeOfferingVersion', input, async (em, tenantId) => {
      const offering = await em.findOne(Offering, { id: offeringId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!offering) throw notFound('Offering');
      const refuse = (code: Parameters<typeof enrollmentError>[0], message: string) => ({ offeringId, errors: [enrollmentError(code, message, 'courseVersionId')] });
      if (!version) return refuse('COURSE_VERSION_NOT_FOUND', 'No such course version in this organization');
      if (version.courseId !== offering.courseId) return refuse('COURSE_VERSION_OF_ANOTHER_COURSE', "The version belongs to another course than the offering's");
      if (version.versionId === offering.courseVersionId) return refuse('SAME_COURSE_VERSION', 'The offering already runs this version');
      if (version.status !== 'PUBLISHED') return refuse('COURSE_VERSION_NOT_PUBLISHED', `The version is ${version.status.toLowerCase()}, not the course's published one`);
      const fromVersionId = offering.courseVersionId;
      const change = em.create(OfferingVersionChange, {
        id: randomUUID(),
        tenantId,
        offeringId,
        fromVersionId,
        toVersionId: version.versionId,
        reason,
        changedBy: actor.userId,
        changedAt: new Date(),
      });
      offering.courseVersionId = version.versionId;
      await em.flush();
      await recordEvent(em, OfferingVersionChanged, {
        tenantId,
        aggregateId: offeringId,
        payload: { offeringId, courseId: offering.courseId, fromVersionId, toVersionId: version.versionId, changedBy: actor.userId },
      });
      return { offeringId, versionChangeId: change.id, errors: [] };
    });
  }

  /** Those of `userIds` that are not active members with INSTRUCTOR or ORG_ADMIN (asked of identity). */
  async #notInstructors(tenantId: string, userIds: string[]): Promise<string[]> {
    if (!userIds.length) return [];
    const members = await this.#deps.remote.members(tenantId, { userIds });
    const ok = new Set(members.filter((m) => m.roles.includes('INSTRUCTOR') || m.roles.includes('ORG_ADMIN')).map((m) => m.userId));
    return userIds.filter((id) => !ok.has(id));
  }
}

/** One answer whatever the reason (unknown person, another organization's, no such role). */
function notInstructorError(ids: string[]) {
  return enrollmentError(
    'NOT_AN_INSTRUCTOR',
    `Not active members with the INSTRUCTOR or ORG_ADMIN role: ${ids.map((id) => globalId('User', id)).join(', ')}`,
    'instructorIds',
  );
}

async function findOffering(em: EntityManager, id: string): Promise<Offering> {
  const offering = await em.findOne(Offering, { id: inputId(id, 'Offering', 'offeringId') });
  if (!offering) throw notFound('Offering');
  return offering;
}
