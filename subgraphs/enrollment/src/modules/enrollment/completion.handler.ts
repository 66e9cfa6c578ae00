// learning's CourseCompleted, applied: the completion is recorded (prerequisites are checked
// against it) and the ACTIVE enrollment becomes COMPLETED with one EnrollmentCompleted. The
// kernel's processed_events makes a redelivered event a no-op; the status guard makes a second
// CourseCompleted for the same enrollment one too.
import { onEvent } from '@lectern/kernel/consumers';
import { recordEvent } from '@lectern/kernel/outbox';
import { CourseCompleted } from '@lectern/contracts/learning';
import { EnrollmentCompleted } from '@lectern/contracts/enrollment';
import { completeEnrollment, recordCompletion } from './enrollment.store.ts';

export const courseCompletedHandler = onEvent(CourseCompleted, async ({ em, event }) => {
  const tenantId = event.tenantId;
  if (!tenantId) return;
  const { enrollmentId, learnerId, courseId, courseVersionId } = event.payload;
  await recordCompletion(em, tenantId, { learnerId, courseId, courseVersionId, enrollmentId, completedAt: new Date(event.occurredAt) });
  const done = await completeEnrollment(em, tenantId, enrollmentId);
  if (!done) return;
  await recordEvent(em, EnrollmentCompleted, {
    tenantId,
    aggregateId: done.id,
    payload: { enrollmentId: done.id, learnerId: done.learnerId, offeringId: done.offeringId, cohortId: done.cohortId, courseId: done.courseId, courseVersionId: done.courseVersionId },
  });
});
