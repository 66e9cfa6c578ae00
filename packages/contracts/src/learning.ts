// learning's published contract: its name (queue events-learning) and the events it emits
// through its outbox. What it consumes is declared in subscriptions.ts.
// Payloads carry ids and non-personal facts only.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

export const LEARNING = 'learning';

const id = z.string().uuid();

/** A learner completed a lesson under the course's completion policy (once per enrollment and lesson). Aggregate: the enrollment. */
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

/** A learner completed every required lesson of the course version they are enrolled in (once per enrollment). */
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

