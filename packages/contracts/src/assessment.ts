// assessment's published contract: its name (queue events-assessment) and the events it emits
// through its outbox. Learning consumes QuizPassed (a QUIZ lesson is passed); what each
// consumer subscribes to is declared in subscriptions.ts.
// Payloads carry ids and non-personal facts only. Scores are fractions 0..1.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

export const ASSESSMENT = 'assessment';

const id = z.string().uuid();
const fraction = z.number().min(0).max(1);

/** An attempt was submitted, by its learner or by the server at its deadline. Aggregate: the attempt. */
export const AttemptSubmitted = defineEvent({
  type: 'assessment.AttemptSubmitted',
  version: 1,
  aggregate: 'attempt',
  payload: z.strictObject({
    attemptId: id,
    quizId: id,
    courseId: id,
    learnerId: id,
    /** Whether the server submitted it at its deadline. */
    autoSubmitted: z.boolean(),
    /** Whether some answers (essays) wait for a grader. */
    needsGrading: z.boolean(),
  }),
});

/**
 * An attempt's grade was set or changed (graded at submission, an essay graded by hand, an
 * override, a regrade). `score` is the attempt's final score over its maximum.
 */
export const AttemptGraded = defineEvent({
  type: 'assessment.AttemptGraded',
  version: 1,
  aggregate: 'attempt',
  payload: z.strictObject({
    attemptId: id,
    quizId: id,
    courseId: id,
    learnerId: id,
    score: fraction,
    /** What set it: AUTO_GRADED, MANUAL_GRADED, OVERRIDDEN or REGRADED. */
    reason: z.enum(['AUTO_GRADED', 'MANUAL_GRADED', 'OVERRIDDEN', 'REGRADED']),
  }),
});

/**
 * A learner's quiz grade (the quiz's grading method over their graded attempts) reached its pass
 * mark, after the attempt named was graded. `score` is that grade. Sent each time a grading
 * leaves the grade at or above the mark, so consumers apply it idempotently.
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
    score: fraction,
  }),
});

/** After the attempt named was graded, the learner's quiz grade is below its pass mark. */
export const QuizFailed = defineEvent({
  type: 'assessment.QuizFailed',
  version: 1,
  aggregate: 'attempt',
  payload: z.strictObject({
    attemptId: id,
    quizId: id,
    learnerId: id,
    /** 0..1 */
    score: fraction,
    /** Attempts the learner may still start; null: unlimited. */
    attemptsLeft: z.number().int().min(0).nullable(),
  }),
});
