// Certification's consumers (queue events-certification): learning's CourseCompleted (a
// completion, evaluated at once) and assessment's QuizPassed / QuizFailed (the learner's grade
// per quiz, which may qualify a completion waiting for a minimum grade). Each runs in the
// event's organization's unit of work with the kernel's processed_events row (effect once).
import { UnrecoverableError } from 'bullmq';
import { onEvent, type EventHandler } from '@lectern/kernel/consumers';
import { QuizFailed, QuizPassed } from '@lectern/contracts/assessment';
import { CourseCompleted } from '@lectern/contracts/learning';
import { completionsAwaitingGrades, evaluateCompletion, type EvaluateDeps } from './evaluate.ts';

const tenantOf = (event: { tenantId: string | null; type: string; id: string }) => {
  if (!event.tenantId) throw new UnrecoverableError(`${event.type} ${event.id} has no organization`);
  return event.tenantId;
};

export function issuanceHandlers(deps: EvaluateDeps): EventHandler[] {
  const graded = async ({ em, event }: Parameters<EventHandler<typeof QuizPassed>['handle']>[0]) => {
    const tenantId = tenantOf(event);
    const { learnerId, quizId, score } = event.payload;
    // The newest grading wins (events may arrive out of order).
    await em.execute(
      `insert into quiz_grades (tenant_id, learner_id, quiz_id, score, graded_at) values (?, ?, ?, ?, ?)
       on conflict (tenant_id, learner_id, quiz_id) do update set score = excluded.score, graded_at = excluded.graded_at
        where quiz_grades.graded_at <= excluded.graded_at`,
      [tenantId, learnerId, quizId, score, event.occurredAt],
    );
    for (const enrollmentId of await completionsAwaitingGrades(em, tenantId, learnerId)) {
      await evaluateCompletion(em, deps, tenantId, enrollmentId);
    }
  };
  return [
    onEvent(CourseCompleted, async ({ em, event }) => {
      const tenantId = tenantOf(event);
      const p = event.payload;
      await em.execute(
        `insert into completions (tenant_id, enrollment_id, learner_id, course_id, course_version_id, completed_at) values (?, ?, ?, ?, ?, ?)
         on conflict (tenant_id, enrollment_id) do nothing`,
        [tenantId, p.enrollmentId, p.learnerId, p.courseId, p.courseVersionId, event.occurredAt],
      );
      await evaluateCompletion(em, deps, tenantId, p.enrollmentId);
    }),
    onEvent(QuizPassed, graded),
    onEvent(QuizFailed, graded as EventHandler<typeof QuizFailed>['handle']),
  ];
}
