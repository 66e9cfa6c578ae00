// assessment's published contract, ahead of its subgraph: the events learning already consumes.
// (It lived in learning's contract while contracts sat in subgraph packages; here the producer's
// module can exist before the producer, and assessment will emit it without touching learning.)
// Payloads carry ids and non-personal facts only.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

const id = z.string().uuid();

/** A learner passed a quiz. Until assessment lands, tests deliver it to learning's queue themselves. */
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
