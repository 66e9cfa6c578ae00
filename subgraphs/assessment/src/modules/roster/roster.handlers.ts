// Assessment's projection of enrollment's events (queue events-assessment): who holds an active
// seat in which cohort of which course (LearnerEnrolled, EnrollmentDropped, EnrollmentMoved), and
// who teaches each cohort (CohortInstructorsChanged, sent when a cohort is created and on each
// change). It decides who may take a course's quizzes and who grades whose attempts. Each handler
// runs in the event's organization's unit of work, in the same transaction as the kernel's
// processed_events row (effect once); the writes are upserts, so a redelivery changes nothing.
import { UnrecoverableError } from 'bullmq';
import { onEvent, type EventHandler } from '@lectern/kernel/consumers';
import type { EventEnvelope } from '@lectern/kernel/events';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import { CohortInstructorsChanged, EnrollmentDropped, EnrollmentMoved, LearnerEnrolled } from '@lectern/contracts/enrollment';

function tenantOf(event: EventEnvelope): string {
  if (!event.tenantId) throw new UnrecoverableError(`${event.type} ${event.id} has no organization`);
  return event.tenantId;
}

export function rosterHandlers(): EventHandler[] {
  const enrolled = onEvent(LearnerEnrolled, async ({ em, event }) => {
    const { enrollmentId, learnerId, offeringId, cohortId, courseId } = event.payload;
    // A dropped enrollment never comes back to ACTIVE through a late (replayed) LearnerEnrolled.
    await em.execute(
      `insert into roster_enrollments (tenant_id, enrollment_id, learner_id, offering_id, cohort_id, course_id, status) values (?, ?, ?, ?, ?, ?, 'ACTIVE')
       on conflict (tenant_id, enrollment_id) do update set cohort_id = case when roster_enrollments.status = 'ACTIVE' then excluded.cohort_id else roster_enrollments.cohort_id end, updated_at = now()`,
      [tenantOf(event), enrollmentId, learnerId, offeringId, cohortId, courseId],
    );
  });

  const dropped = onEvent(EnrollmentDropped, async ({ em, event }) => {
    const { enrollmentId, learnerId, offeringId, cohortId, courseId } = event.payload;
    await em.execute(
      `insert into roster_enrollments (tenant_id, enrollment_id, learner_id, offering_id, cohort_id, course_id, status) values (?, ?, ?, ?, ?, ?, 'DROPPED')
       on conflict (tenant_id, enrollment_id) do update set status = 'DROPPED', updated_at = now()`,
      [tenantOf(event), enrollmentId, learnerId, offeringId, cohortId, courseId],
    );
  });

  // Moves only change a known enrollment's cohort (an enrollment's events arrive in order, so
  // LearnerEnrolled came first; the course is the one it was enrolled in).
  const moved = onEvent(EnrollmentMoved, async ({ em, event }) => {
    const { enrollmentId, toCohortId } = event.payload;
    await em.execute(`update roster_enrollments set cohort_id = ?, updated_at = now() where tenant_id = ? and enrollment_id = ?`, [toCohortId, tenantOf(event), enrollmentId]);
  });

  const instructors = onEvent(CohortInstructorsChanged, async ({ em, event }) => {
    const { cohortId, offeringId, instructorIds } = event.payload;
    await em.execute(
      `insert into roster_cohorts (tenant_id, cohort_id, offering_id, instructor_ids) values (?, ?, ?, ?::uuid[])
       on conflict (tenant_id, cohort_id) do update set offering_id = excluded.offering_id, instructor_ids = excluded.instructor_ids, updated_at = now()`,
      [tenantOf(event), cohortId, offeringId, uuidArrayLiteral([...new Set(instructorIds)])],
    );
  });

  return [enrolled, dropped, moved, instructors];
}
