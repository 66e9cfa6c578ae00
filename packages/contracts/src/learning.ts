// learning's published contract: its name (queue events-learning) and the events it emits
// through its outbox. What it consumes is declared in subscriptions.ts.
// Payloads carry ids and non-personal facts only.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

export const LEARNING = 'learning';

const id = z.string().uuid();

/**
 * A learner completed a lesson under the course's completion policy (once per enrollment and
 * lineage). Aggregate: the enrollment. `courseVersionId` and `lessonId` are of the version the
 * enrollment's offering runs when it completed; when the offering moves to a newer version
 * (enrollment's OfferingVersionChanged) completed lessons carry over by lineage and are not
 * announced again, and lessons the new version completes are announced with its ids.
 */
export const LessonCompleted = defineEvent({
  type: 'learning.LessonCompleted',
  version: 1,
  aggregate: 'enrollment',
  payload: z.strictObject({
    enrollmentId: id,
    learnerId: id,
    courseId: id,
    courseVersionId: id,
    lessonId: id,
    /** The lesson across course versions. */
    lineageId: id,
  }),
});

/**
 * A learner completed every counted lesson of the course version their offering runs (once per
 * enrollment; also when a move to a newer version completes it).
 */
export const CourseCompleted = defineEvent({
  type: 'learning.CourseCompleted',
  version: 1,
  aggregate: 'enrollment',
  payload: z.strictObject({
    enrollmentId: id,
    learnerId: id,
    courseId: id,
    courseVersionId: id,
  }),
});

export const LEARNING_EVENTS = [LessonCompleted, CourseCompleted] as const;

