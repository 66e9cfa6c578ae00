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
import { itemsWithDefinitions, learnerResults, recordGradeChange, writeItemGrades } from './attempt.store.ts';

type Row = Record<string, unknown>;

/**
 * Submits a locked IN_PROGRESS attempt: grades every answer it holds, sets SUBMITTED or GRADED,
 * drops its open deadline, and records AttemptSubmitted (and the grade's events).
 */
export async function submitAndGrade(em: EntityManager, tenantId: string, attempt: AttemptView, quiz: QuizView, opts: { auto: boolean }): Promise<void> {
  const items = await itemsWithDefinitions(em, tenantId, attempt.id);
  const grades = items.map((i) => {
    const g = grade(i.definition, i.answer);
    return { position: i.position, score: g.score, needsGrading: g.manual, gradedVersionId: i.versionId };
  });
  await writeItemGrades(em, tenantId, attempt.id, grades);
  const needsGrading = grades.some((g) => g.needsGrading);
  const score = needsGrading ? null : round4(grades.reduce((s, g) => s + (g.score ?? 0), 0));
  await em.execute(
    `update attempts set status = ?, submitted_at = clock_timestamp(), auto_submitted = ?, score = ?, graded_at = case when ? then clock_timestamp() end, updated_at = now()
      where tenant_id = ? and id = ?`,
    [needsGrading ? 'SUBMITTED' : 'GRADED', opts.auto, score, !needsGrading, tenantId, attempt.id],
  );
  await em.execute(`delete from open_attempt_deadlines where attempt_id = ?`, [attempt.id]);
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
    const [acc] = await em.execute<Row[]>(
      `select coalesce(aq.extra_attempts, ac.extra_attempts, 0) as extra from quizzes q
         left join accommodations aq on aq.tenant_id = q.tenant_id and aq.learner_id = ? and aq.quiz_id = q.id
         left join accommodations ac on ac.tenant_id = q.tenant_id and ac.learner_id = ? and ac.course_id = q.course_id
        where q.tenant_id = ? and q.id = ?`,
      [attempt.learnerId, attempt.learnerId, tenantId, quiz.id],
    );
    const allowed = quiz.attemptsAllowed === null ? null : quiz.attemptsAllowed + Number(acc?.extra ?? 0);
    const attemptsLeft = allowed === null ? null : Math.max(0, allowed - results.started);
    await recordEvent(em, QuizFailed, { tenantId, aggregateId: attempt.id, payload: { ...base, score, attemptsLeft } });
  }
}
