// Submitting and grading an attempt, and what a grade change emits: one code path for the
// learner's submitAttempt, the expire-attempt job at the deadline and the worker's sweep.
//
// Objective answers are graded on submit (modules/grading/grade.ts); an attempt with an essay
// answered stays SUBMITTED until a grader grades it. Each grade change is recorded in
// grade_changes and emits, through the outbox in the same transaction, AttemptGraded and then
// QuizPassed or QuizFailed for the learner's quiz grade (the quiz's grading method over their
// graded attempts) against the pass mark.
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordEvent } from '@lectern/kernel/outbox';
import { AttemptGraded, AttemptSubmitted, QuizFailed, QuizPassed } from '@lectern/contracts/assessment';
import { finalScore, type AttemptView, type GradeChangeKind, type QuizView } from '../../views.ts';
import { grade, round4 } from '../grading/grade.ts';
import { quizGrade } from '../grading/grading-method.ts';
import { learnerResults, recordGradeChange, savedAnswers, writeItemGrades } from './attempt.store.ts';
import type { AttemptItemsCache } from './item-cache.ts';


/**
 * Submits a locked IN_PROGRESS attempt: grades every answer it holds (the questions it showed
 * from `shown`, the answers from PostgreSQL), sets SUBMITTED or GRADED and drops its open
 * deadline in one statement, and records AttemptSubmitted (and the grade's events).
 */
export async function submitAndGrade(em: EntityManager, tenantId: string, attempt: AttemptView, quiz: QuizView, opts: { auto: boolean; shown: AttemptItemsCache }): Promise<void> {
  const shown = await opts.shown.get(em, tenantId, attempt.id);
  if (!shown) throw new Error(`attempt ${attempt.id} has no questions`);
  const answers = await savedAnswers(em, tenantId, attempt.id);
  const grades = [...shown.items.values()].map((i) => {
    const g = grade(i.definition, answers.get(i.position) ?? null);
    return { position: i.position, score: g.score, needsGrading: g.manual, gradedVersionId: i.versionId };
  });
  await writeItemGrades(em, tenantId, attempt.id, grades);
  const needsGrading = grades.some((g) => g.needsGrading);
  const score = needsGrading ? null : round4(grades.reduce((s, g) => s + (g.score ?? 0), 0));
  await em.execute(
    `with submitted as (
       update attempts set status = ?, submitted_at = clock_timestamp(), auto_submitted = ?, score = ?, graded_at = case when ? then clock_timestamp() end, updated_at = now()
        where tenant_id = ? and id = ? returning id)
     delete from open_attempt_deadlines d using submitted where d.attempt_id = submitted.id`,
    [needsGrading ? 'SUBMITTED' : 'GRADED', opts.auto, score, !needsGrading, tenantId, attempt.id],
  );
  await recordEvent(em, AttemptSubmitted, {
    tenantId,
    aggregateId: attempt.id,
    payload: { attemptId: attempt.id, quizId: quiz.id, courseId: quiz.courseId, learnerId: attempt.learnerId, autoSubmitted: opts.auto, needsGrading },
  });
  if (!needsGrading) {
    await recordGradeChange(em, tenantId, { attemptId: attempt.id, position: null, kind: 'AUTO_GRADED', fromScore: null, toScore: score, changedBy: null, reason: null });
    await gradeEvents(em, tenantId, { ...attempt, score, status: 'GRADED' }, quiz, 'AUTO_GRADED');
  }
}

/**
 * After a change left `attempt` GRADED with a (new) final score: AttemptGraded, then QuizPassed
 * or QuizFailed for the learner's quiz grade now.
 */
export async function gradeEvents(em: EntityManager, tenantId: string, attempt: AttemptView, quiz: QuizView, reason: GradeChangeKind): Promise<void> {
  const final = finalScore(attempt);
  const fraction = attempt.maxScore > 0 && final !== null ? Math.min(1, Math.max(0, final / attempt.maxScore)) : 0;
  const base = { attemptId: attempt.id, quizId: quiz.id, learnerId: attempt.learnerId };
  await recordEvent(em, AttemptGraded, { tenantId, aggregateId: attempt.id, payload: { ...base, courseId: quiz.courseId, score: fraction, reason } });
  const results = await learnerResults(em, tenantId, quiz.id, attempt.learnerId);
  const grade = quizGrade(quiz.gradingMethod, results.graded);
  if (grade === null) return;
  const score = Math.min(1, Math.max(0, grade));
  if (score + 1e-9 >= quiz.passFraction) {
    await recordEvent(em, QuizPassed, { tenantId, aggregateId: attempt.id, payload: { ...base, score } });
  } else {
    const allowed = quiz.attemptsAllowed === null ? null : quiz.attemptsAllowed + results.extraAttempts;
    const attemptsLeft = allowed === null ? null : Math.max(0, allowed - results.started);
    await recordEvent(em, QuizFailed, { tenantId, aggregateId: attempt.id, payload: { ...base, score, attemptsLeft } });
  }
}
