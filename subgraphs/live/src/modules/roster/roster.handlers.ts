// Live's projection of enrollment's events (queue events-live): which cohorts an offering has
// and who teaches them (CohortInstructorsChanged, sent when a cohort is created and on each
// change), who holds an active seat in which cohort (LearnerEnrolled, EnrollmentDropped,
// EnrollmentMoved). It decides who may see and join a session. Each handler runs in the
// event's organization's unit of work, in the same transaction as the kernel's
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
    const { enrollmentId, learnerId, offeringId, cohortId } = event.payload;
    const tenantId = tenantOf(event);
    // A dropped enrollment never comes back to ACTIVE through a late (replayed) LearnerEnrolled.
    await em.execute(
      `insert into roster_enrollments (tenant_id, enrollment_id, learner_id, offering_id, cohort_id, status) values (?, ?, ?, ?, ?, 'ACTIVE')
       on conflict (tenant_id, enrollment_id) do update set cohort_id = case when roster_enrollments.status = 'ACTIVE' then excluded.cohort_id else roster_enrollments.cohort_id end, updated_at = now()`,
      [tenantId, enrollmentId, learnerId, offeringId, cohortId],
    );
  });

  const dropped = onEvent(EnrollmentDropped, async ({ em, event }) => {
    const { enrollmentId, learnerId, offeringId, cohortId } = event.payload;
    const tenantId = tenantOf(event);
    await em.execute(
      `insert into roster_enrollments (tenant_id, enrollment_id, learner_id, offering_id, cohort_id, status) values (?, ?, ?, ?, ?, 'DROPPED')
       on conflict (tenant_id, enrollment_id) do update set status = 'DROPPED', updated_at = now()`,
      [tenantId, enrollmentId, learnerId, offeringId, cohortId],
    );
  });

  const moved = onEvent(EnrollmentMoved, async ({ em, event }) => {
    const { enrollmentId, learnerId, offeringId, toCohortId } = event.payload;
    const tenantId = tenantOf(event);
    await em.execute(
      `insert into roster_enrollments (tenant_id, enrollment_id, learner_id, offering_id, cohort_id, status) values (?, ?, ?, ?, ?, 'ACTIVE')
       on conflict (tenant_id, enrollment_id) do update set cohort_id = excluded.cohort_id, updated_at = now()`,
      [tenantId, enrollmentId, learnerId, offeringId, toCohortId],
    );
  });

  const instructors = onEvent(CohortInstructorsChanged, async ({ em, event }) => {
    const { cohortId, offeringId, instructorIds } = event.payload;
    const tenantId = tenantOf(event);
    await em.execute(
      `insert into roster_cohorts (tenant_id, cohort_id, offering_id, instructor_ids) values (?, ?, ?, ?::uuid[])
       on conflict (tenant_id, cohort_id) do update set offering_id = excluded.offering_id, instructor_ids = excluded.instructor_ids, updated_at = now()`,
      [tenantId, cohortId, offeringId, uuidArrayLiteral([...new Set(instructorIds)])],
    );
  });

  return [enrolled, dropped, moved, instructors];
}
