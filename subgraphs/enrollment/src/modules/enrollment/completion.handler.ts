// learning's CourseCompleted, applied: the completion is recorded (prerequisites are checked
// against it) and the ACTIVE enrollment becomes COMPLETED with one EnrollmentCompleted. The
// kernel's processed_events makes a redelivered event a no-op; the status guard makes a second
// CourseCompleted for the same enrollment one too.
import { onEvent } from '@lectern/kernel/consumers';
import { recordEvent } from '@lectern/kernel/outbox';
import { CourseCompleted } from '@lectern/contracts/learning';
import { EnrollmentCompleted } from '@lectern/contracts/enrollment';

export const courseCompletedHandler = onEvent(CourseCompleted, async ({ em, event }) => {
  const tenantId = event.tenantId;
  if (!tenantId) return;
  const { enrollmentId, learnerId, courseId, courseVersionId } = event.payload;
  await em.execute(
    `insert into course_completions (tenant_id, learner_id, course_id, course_version_id, enrollment_id, completed_at)
     values (?, ?, ?, ?, ?, ?) on conflict do nothing`,
    [tenantId, learnerId, courseId, courseVersionId, enrollmentId, new Date(event.occurredAt)],
  );
  const [done] = await em.execute<{ id: string; learner_id: string; offering_id: string; cohort_id: string; course_id: string; course_version_id: string }[]>(
    `update enrollments e set status = 'COMPLETED', completed_at = now(), updated_at = now()
       from offerings o
      where e.tenant_id = ? and e.id = ? and e.status = 'ACTIVE' and o.tenant_id = e.tenant_id and o.id = e.offering_id
      returning e.id, e.learner_id, e.offering_id, e.cohort_id, o.course_id, o.course_version_id`,
    [tenantId, enrollmentId],
  );
  if (!done) return;
  await recordEvent(em, EnrollmentCompleted, {
    tenantId,
    aggregateId: done.id,
    payload: { enrollmentId: done.id, learnerId: done.learner_id, offeringId: done.offering_id, cohortId: done.cohort_id, courseId: done.course_id, courseVersionId: done.course_version_id },
  });
});
