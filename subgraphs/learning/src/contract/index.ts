// What other Lectern code may know of learning: the events it emits through its outbox and
// the events it consumes (so producers' relays route them to its queue).
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

/**
 * A learner passed a quiz. Emitted by the assessment subgraph once it lands; declared here,
 * where it is consumed, until then (tests deliver it to learning's queue themselves).
 */
export const QuizPassed = defineEvent({
  type: 'assessment.QuizPassed',
  version: 1,
  aggregate: 'attempt',
  payload: z.strictObject({
    attemptId: id,
    quizId: id,
    learnerId: id,
    /** 0..1 */
    score: z.number().min(0).max(1),
  }),
});

/**
 * Event type → consuming contexts, for the producers' relay routes (enrollment's worker merges
 * this into its `routes`). Plain type strings, so this contract imports no other subgraph.
 */
export const subscriptions: Record<string, string[]> = {
  'enrollment.LearnerEnrolled': [LEARNING],
  'enrollment.EnrollmentDropped': [LEARNING],
  'enrollment.EnrollmentMoved': [LEARNING],
  'enrollment.EnrollmentCompleted': [LEARNING],
  'enrollment.CohortInstructorsChanged': [LEARNING],
  'assessment.QuizPassed': [LEARNING],
};
