// enrollment's published contract: its name (queue events-enrollment) and the events it emits
// through its outbox. What it consumes is declared in subscriptions.ts.
// Payloads carry ids and non-personal facts only.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

export const ENROLLMENT = 'enrollment';

const id = z.string().uuid();

/**
 * A learner holds a seat: a new active enrollment, or a waitlisted one promoted when a seat
 * freed. Aggregate: the enrollment (its events are delivered in order).
 */
export const LearnerEnrolled = defineEvent({
  type: 'enrollment.LearnerEnrolled',
  version: 1,
  aggregate: 'enrollment',
  payload: z.strictObject({
    enrollmentId: id,
    learnerId: id,
    offeringId: id,
    cohortId: id,
    courseId: id,
    /** The published course version the offering runs. */
    courseVersionId: id,
    promotedFromWaitlist: z.boolean(),
  }),
});

/** An active or waitlisted enrollment was dropped (by the learner, an instructor or an admin). */
export const EnrollmentDropped = defineEvent({
  type: 'enrollment.EnrollmentDropped',
  version: 1,
  aggregate: 'enrollment',
  payload: z.strictObject({
    enrollmentId: id,
    learnerId: id,
    offeringId: id,
    cohortId: id,
    courseId: id,
    courseVersionId: id,
    /** Whether it held a seat (false: it was waitlisted). */
    wasActive: z.boolean(),
    /** Who dropped it; null for an API key or the platform. */
    droppedBy: id.nullable(),
  }),
});

/** An active enrollment moved to another cohort of the same offering. */
export const EnrollmentMoved = defineEvent({
  type: 'enrollment.EnrollmentMoved',
  version: 1,
  aggregate: 'enrollment',
  payload: z.strictObject({
    enrollmentId: id,
    learnerId: id,
    offeringId: id,
    fromCohortId: id,
    toCohortId: id,
  }),
});

/** The learner completed the course of an active enrollment (learning's CourseCompleted, applied). */
export const EnrollmentCompleted = defineEvent({
  type: 'enrollment.EnrollmentCompleted',
  version: 1,
  aggregate: 'enrollment',
  payload: z.strictObject({
    enrollmentId: id,
    learnerId: id,
    offeringId: id,
    cohortId: id,
    courseId: id,
    courseVersionId: id,
  }),
});

/** A cohort's instructors are now exactly `instructorIds` (sent on creation and each change). Aggregate: the cohort. */
export const CohortInstructorsChanged = defineEvent({
  type: 'enrollment.CohortInstructorsChanged',
  version: 1,
  aggregate: 'cohort',
  payload: z.strictObject({
    cohortId: id,
    offeringId: id,
    instructorIds: z.array(id),
  }),
});

/**
 * An offering now runs another published version of its course (an ORG_ADMIN's explicit,
 * audited action). Its learners' progress carries over for lessons that still exist in the
 * new version (same lineage in catalog). Aggregate: the offering.
 */
export const OfferingVersionChanged = defineEvent({
  type: 'enrollment.OfferingVersionChanged',
  version: 1,
  aggregate: 'offering',
  payload: z.strictObject({
    offeringId: id,
    courseId: id,
    fromVersionId: id,
    toVersionId: id,
    /** Who moved it; null for an API key. */
    changedBy: id.nullable(),
  }),
});

export const ENROLLMENT_EVENTS = [
  LearnerEnrolled,
  EnrollmentDropped,
  EnrollmentMoved,
  EnrollmentCompleted,
  CohortInstructorsChanged,
  OfferingVersionChanged,
] as const;
