// What a learner sees of their own submitted attempt, by the quiz's review settings: nothing
// (NONE), their score (SCORE_ONLY), or also each answer's grade, the key and the explanation
// (ANSWERS); at once or only after the quiz's close. Graders (the learner's instructors,
// ORG_ADMIN) always see everything. Before submission nobody's view holds the key.
import type { AttemptView, QuizView } from '../../views.ts';

/** Whether the review settings show the learner anything now. */
function reviewOpen(quiz: QuizView, now: Date): boolean {
  if (quiz.reviewMode === 'NONE') return false;
  return quiz.reviewAvailability === 'IMMEDIATELY' || (quiz.closesAt !== null && now >= quiz.closesAt);
}

/** The learner sees their score (SCORE_ONLY or ANSWERS, once available). */
export const learnerSeesScore = (quiz: QuizView, now: Date) => reviewOpen(quiz, now);

/** The learner sees each answer's grade, the key and the explanation. */
export const learnerSeesAnswers = (quiz: QuizView, now: Date) => quiz.reviewMode === 'ANSWERS' && reviewOpen(quiz, now);

export type AttemptEyes = 'GRADER' | 'LEARNER_SCORE' | 'LEARNER_ANSWERS' | 'LEARNER';

/** How the caller sees `attempt`: a grader, or its learner with what the settings show now. */
export function eyesOn(attempt: AttemptView, quiz: QuizView, now = new Date()): AttemptEyes {
  if (attempt.overseen) return 'GRADER';
  if (attempt.status === 'IN_PROGRESS') return 'LEARNER';
  if (learnerSeesAnswers(quiz, now)) return 'LEARNER_ANSWERS';
  return learnerSeesScore(quiz, now) ? 'LEARNER_SCORE' : 'LEARNER';
}
