// Learning's projection of enrollment's events (queue events-learning), and QuizPassed.
// Each handler runs in the event's organization's unit of work, in the same transaction as
// the kernel's processed_events row (effect once); the writes are upserts, so a redelivery
// that slips past it (none should) changes nothing either.
import { UnrecoverableError } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import { onEvent, type EventHandler } from '@lectern/kernel/consumers';
import type { EventEnvelope } from '@lectern/kernel/events';
import { CohortInstructorsChanged, EnrollmentCompleted, EnrollmentDropped, EnrollmentMoved, LearnerEnrolled } from '@lectern/contracts/enrollment';
import { QuizPassed } from '@lectern/contracts/assessment';
import { applyProgress } from '../progress/progress.store.ts';
import type { AccessCache } from '../heartbeat/access-cache.ts';
import type { CatalogClient } from './catalog-client.ts';

export interface ProjectionDeps {
  catalog: CatalogClient;
  access: AccessCache;
}

function tenantOf(event: EventEnvelope): string {
  if (!event.tenantId) throw new UnrecoverableError(`${event.type} ${event.id} has no organization`);
  return event.tenantId;
}

/** Fetches and stores the lessons of a course version unless already known. */
export async function ensureVersion(em: EntityManager, catalog: CatalogClient, tenantId: string, versionId: string): Promise<void> {
  const known = await em.execute<{ id: string }[]>('select id from course_versions where tenant_id = ? and id = ?', [tenantId, versionId]);
  if (known.length) return;
  const [version] = await catalog.versions(tenantId, [versionId]);
  if (!version) throw new Error(`catalog does not know course version ${versionId} (yet)`);
  await em.execute('insert into course_versions (tenant_id, id, course_id) values (?, ?, ?) on conflict do nothing', [tenantId, versionId, version.courseId]);
  const lessons = version.lessons.map((l, position) => ({
    lesson_id: l.lessonId,
    lineage_id: l.lineageId,
    position,
    kind: l.kind,
    required: l.required,
    duration_seconds: l.durationSeconds,
    quiz_id: l.quizId,
  }));
  await em.execute(
    `insert into version_lessons (tenant_id, version_id, course_id, lesson_id, lineage_id, position, kind, required, duration_seconds, quiz_id)
     select ?, ?, ?, x.lesson_id, x.lineage_id, x.position, x.kind, x.required, x.duration_seconds, x.quiz_id
       from jsonb_to_recordset(?::jsonb) as x(lesson_id uuid, lineage_id uuid, position int, kind text, required boolean, duration_seconds int, quiz_id uuid)
     on conflict do nothing`,
    [tenantId, versionId, version.courseId, JSON.stringify(lessons)],
  );
}

interface EnrollmentFacts {
  enrollmentId: string;
  learnerId: string;
  offeringId: string;
  cohortId: string;
  courseId: string;
  courseVersionId: string;
}

/**
 * Upserts the enrollment with `status`. DROPPED and COMPLETED are never overwritten by a
 * late ACTIVE (events of one enrollment arrive in order; this guards a replayed old one).
 */
async function upsertEnrollment(em: EntityManager, tenantId: string, e: EnrollmentFacts, status: 'ACTIVE' | 'DROPPED' | 'COMPLETED') {
  await em.execute(
    `insert into enrollments (tenant_id, id, learner_id, offering_id, cohort_id, course_id, course_version_id, status)
     values (?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (tenant_id, id) do update
        set cohort_id = excluded.cohort_id,
            status = case when excluded.status = 'ACTIVE' and enrollments.status <> 'ACTIVE' then enrollments.status
                          when excluded.status = 'COMPLETED' and enrollments.status = 'DROPPED' then enrollments.status
                          else excluded.status end,
            updated_at = now()`,
    [tenantId, e.enrollmentId, e.learnerId, e.offeringId, e.cohortId, e.courseId, e.courseVersionId, status],
  );
}

export function projectionHandlers(deps: ProjectionDeps): EventHandler[] {
  /** The cached lesson access is dropped now and once more shortly after commit (a read racing the commit may have refilled it). */
  const invalidate = async (tenantId: string, learnerId: string) => {
    await deps.access.invalidate(tenantId, learnerId);
    setTimeout(() => void deps.access.invalidate(tenantId, learnerId).catch(() => {}), 2000).unref();
  };

  const enrolled = onEvent(LearnerEnrolled, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await ensureVersion(em, deps.catalog, tenantId, event.payload.courseVersionId);
    await upsertEnrollment(em, tenantId, event.payload, 'ACTIVE');
    await invalidate(tenantId, event.payload.learnerId);
  });

  const dropped = onEvent(EnrollmentDropped, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await ensureVersion(em, deps.catalog, tenantId, event.payload.courseVersionId);
    await upsertEnrollment(em, tenantId, event.payload, 'DROPPED');
    await invalidate(tenantId, event.payload.learnerId);
  });

  const completed = onEvent(EnrollmentCompleted, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await ensureVersion(em, deps.catalog, tenantId, event.payload.courseVersionId);
    await upsertEnrollment(em, tenantId, event.payload, 'COMPLETED');
    await invalidate(tenantId, event.payload.learnerId);
  });

  const moved = onEvent(EnrollmentMoved, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    await em.execute('update enrollments set cohort_id = ?, updated_at = now() where tenant_id = ? and id = ?', [event.payload.toCohortId, tenantId, event.payload.enrollmentId]);
  });

  const instructors = onEvent(CohortInstructorsChanged, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    const { cohortId, instructorIds } = event.payload;
    await em.execute('delete from cohort_instructors where tenant_id = ? and cohort_id = ?', [tenantId, cohortId]);
    if (instructorIds.length) {
      await em.execute(
        `insert into cohort_instructors (tenant_id, cohort_id, instructor_id) select ?, ?, unnest(?::uuid[]) on conflict do nothing`,
        [tenantId, cohortId, `{${[...new Set(instructorIds)].join(',')}}`],
      );
    }
  });

  /** A QUIZ lesson is passed when its learner passed that lesson's quiz (in any enrollment holding it). */
  const quizPassed = onEvent(QuizPassed, async ({ em, event }) => {
    const tenantId = tenantOf(event);
    const rows = await em.execute<{ enrollment_id: string; lesson_id: string }[]>(
      `select e.id as enrollment_id, vl.lesson_id
         from enrollments e
         join version_lessons vl on vl.tenant_id = e.tenant_id and vl.version_id = e.course_version_id
        where e.tenant_id = ? and e.learner_id = ? and vl.quiz_id = ? and e.status <> 'DROPPED'`,
      [tenantId, event.payload.learnerId, event.payload.quizId],
    );
    await applyProgress(
      em,
      tenantId,
      rows.map((r) => ({
        enrollmentId: r.enrollment_id,
        lessonId: r.lesson_id,
        position: null,
        positionAt: null,
        positionDevice: '',
        ranges: [],
        opened: true,
        quizPassed: true,
        reportedDuration: null,
      })),
    );
  });

  return [enrolled, dropped, completed, moved, instructors, quizPassed];
}
