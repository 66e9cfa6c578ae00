// The projection's raw SQL: learning's copy of catalog's course versions and lessons and of
// enrollment's enrollments and cohort instructors, written by the event handlers as upserts,
// and the enrollments a passed quiz counts for. Every statement names tenant_id = ? itself
// (DESIGN rule 2); RLS is the second layer. Each runs in the handler's transaction.
import type { EntityManager } from '@mikro-orm/postgresql';
import { uuidArrayLiteral } from '@lectern/kernel/rows';

/** A lesson of a version as the projection stores it (catalog's order as `position`). */
export interface VersionLessonRow {
  lesson_id: string;
  lineage_id: string;
  position: number;
  kind: string;
  required: boolean;
  duration_seconds: number | null;
  quiz_id: string | null;
}

export interface EnrollmentFacts {
  enrollmentId: string;
  learnerId: string;
  offeringId: string;
  cohortId: string;
  courseId: string;
  courseVersionId: string;
}

/** Whether the version's lessons are stored already. */
export async function versionKnown(em: EntityManager, tenantId: string, versionId: string): Promise<boolean> {
  const known = await em.execute<Record<'id', unknown>[]>('select id from course_versions where tenant_id = ? and id = ?', [tenantId, versionId]);
  return known.length > 0;
}

/** Stores the version and its lessons (nothing when already there). */
export async function insertVersion(em: EntityManager, tenantId: string, versionId: string, courseId: string, lessons: readonly VersionLessonRow[]): Promise<void> {
  await em.execute('insert into course_versions (tenant_id, id, course_id) values (?, ?, ?) on conflict do nothing', [tenantId, versionId, courseId]);
  await em.execute(
    `insert into version_lessons (tenant_id, version_id, course_id, lesson_id, lineage_id, position, kind, required, duration_seconds, quiz_id)
     select ?, ?, ?, x.lesson_id, x.lineage_id, x.position, x.kind, x.required, x.duration_seconds, x.quiz_id
       from jsonb_to_recordset(?::jsonb) as x(lesson_id uuid, lineage_id uuid, position int, kind text, required boolean, duration_seconds int, quiz_id uuid)
     on conflict do nothing`,
    [tenantId, versionId, courseId, JSON.stringify(lessons)],
  );
}

/**
 * Upserts the enrollment with `status`. DROPPED and COMPLETED are never overwritten by a
 * late ACTIVE (events of one enrollment arrive in order; this guards a replayed old one).
 */
export async function upsertEnrollment(em: EntityManager, tenantId: string, e: EnrollmentFacts, status: 'ACTIVE' | 'DROPPED' | 'COMPLETED'): Promise<void> {
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

/** Moves the enrollment to another cohort. */
export async function moveEnrollment(em: EntityManager, tenantId: string, enrollmentId: string, cohortId: string): Promise<void> {
  await em.execute('update enrollments set cohort_id = ?, updated_at = now() where tenant_id = ? and id = ?', [cohortId, tenantId, enrollmentId]);
}

/** Replaces the cohort's instructors with `instructorIds`. */
export async function replaceCohortInstructors(em: EntityManager, tenantId: string, cohortId: string, instructorIds: readonly string[]): Promise<void> {
  await em.execute('delete from cohort_instructors where tenant_id = ? and cohort_id = ?', [tenantId, cohortId]);
  if (instructorIds.length) {
    await em.execute(`insert into cohort_instructors (tenant_id, cohort_id, instructor_id) select ?, ?, unnest(?::uuid[]) on conflict do nothing`, [
      tenantId,
      cohortId,
      uuidArrayLiteral([...new Set(instructorIds)]),
    ]);
  }
}

/** A QUIZ lesson of an enrollment (not dropped) of the learner whose quiz is `quizId`. */
export interface QuizLesson {
  enrollmentId: string;
  lessonId: string;
}

/** The learner's enrollments (not dropped) holding a lesson whose quiz is `quizId`, with that lesson. */
export async function quizLessons(em: EntityManager, tenantId: string, learnerId: string, quizId: string): Promise<QuizLesson[]> {
  const rows = await em.execute<Record<'enrollment_id' | 'lesson_id', unknown>[]>(
    `select e.id as enrollment_id, vl.lesson_id
         from enrollments e
         join version_lessons vl on vl.tenant_id = e.tenant_id and vl.version_id = e.course_version_id
        where e.tenant_id = ? and e.learner_id = ? and vl.quiz_id = ? and e.status <> 'DROPPED'`,
    [tenantId, learnerId, quizId],
  );
  return rows.map((r) => ({ enrollmentId: String(r.enrollment_id), lessonId: String(r.lesson_id) }));
}
