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
  // A new row takes the version its offering runs now when a version change was projected
  // already (the event's version is the one at enrollment time); a later change moves it on.
  await em.execute(
    `insert into enrollments (tenant_id, id, learner_id, offering_id, cohort_id, course_id, course_version_id, status)
     values (?, ?, ?, ?, ?, ?, coalesce((select course_version_id from offering_versions where tenant_id = ? and offering_id = ?), ?::uuid), ?)
     on conflict (tenant_id, id) do update
        set cohort_id = excluded.cohort_id,
            status = case when excluded.status = 'ACTIVE' and enrollments.status <> 'ACTIVE' then enrollments.status
                          when excluded.status = 'COMPLETED' and enrollments.status = 'DROPPED' then enrollments.status
                          else excluded.status end,
            updated_at = now()`,
    [tenantId, e.enrollmentId, e.learnerId, e.offeringId, e.cohortId, e.courseId, tenantId, e.offeringId, e.courseVersionId, status],
  );
}

/**
 * Serialises the projection's writes to one offering's enrollments for the transaction: a
 * version change and a LearnerEnrolled of the same offering never interleave.
 */
export async function lockOffering(em: EntityManager, tenantId: string, offeringId: string): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`learning.offering:${tenantId}:${offeringId}`]);
}

/** An enrollment an offering's version change moved. */
export interface MovedEnrollment {
  enrollmentId: string;
  learnerId: string;
}

/**
 * Moves the offering's enrollments of `courseId` to `toVersionId` (records the offering's
 * version first): each enrollment's lesson progress and device time move to the lesson of the
 * new version with the same lineage (lessons without one keep their rows, off the version:
 * their watched time still counts). Returns the enrollments moved and the (enrollment, lesson)
 * pairs of the new version that now hold progress, for the completion policy to re-evaluate.
 */
export async function moveOfferingVersion(
  em: EntityManager,
  tenantId: string,
  args: { offeringId: string; courseId: string; toVersionId: string },
): Promise<{ moved: MovedEnrollment[]; carried: { enrollmentId: string; lessonId: string }[] }> {
  const { offeringId, courseId, toVersionId } = args;
  await em.execute(
    `insert into offering_versions (tenant_id, offering_id, course_version_id) values (?, ?, ?)
     on conflict (tenant_id, offering_id) do update set course_version_id = excluded.course_version_id, changed_at = now()`,
    [tenantId, offeringId, toVersionId],
  );
  // The rows every progress writer locks first (progress.store.ts), in the same order.
  const rows = await em.execute<Record<'id' | 'learner_id', unknown>[]>(
    `select id, learner_id from enrollments where tenant_id = ? and offering_id = ? and course_id = ? and course_version_id <> ? order by id for update`,
    [tenantId, offeringId, courseId, toVersionId],
  );
  const moved = rows.map((r) => ({ enrollmentId: String(r.id), learnerId: String(r.learner_id) }));
  if (!moved.length) return { moved, carried: [] };
  const ids = uuidArrayLiteral(moved.map((m) => m.enrollmentId));
  // Old lesson → new lesson of the same lineage, per moved enrollment (its version not moved yet).
  const mapping = `select e.id as enrollment_id, o.lesson_id as old_id, n.lesson_id as new_id
                     from enrollments e
                     join version_lessons o on o.tenant_id = e.tenant_id and o.version_id = e.course_version_id
                     join version_lessons n on n.tenant_id = e.tenant_id and n.version_id = ?::uuid and n.lineage_id = o.lineage_id
                    where e.tenant_id = ? and e.id = any(?::uuid[]) and n.lesson_id <> o.lesson_id`;
  await em.execute(
    `update lesson_progress lp set lesson_id = m.new_id, updated_at = now()
       from (${mapping}) m
      where lp.tenant_id = ? and lp.enrollment_id = m.enrollment_id and lp.lesson_id = m.old_id
        and not exists (select 1 from lesson_progress x where x.tenant_id = lp.tenant_id and x.enrollment_id = lp.enrollment_id and x.lesson_id = m.new_id)`,
    [toVersionId, tenantId, ids, tenantId],
  );
  await em.execute(
    `update device_watch dw set lesson_id = m.new_id
       from (${mapping}) m
      where dw.tenant_id = ? and dw.enrollment_id = m.enrollment_id and dw.lesson_id = m.old_id
        and not exists (select 1 from device_watch x where x.tenant_id = dw.tenant_id and x.enrollment_id = dw.enrollment_id and x.lesson_id = m.new_id and x.device_id = dw.device_id)`,
    [toVersionId, tenantId, ids, tenantId],
  );
  await em.execute(`update enrollments set course_version_id = ?, updated_at = now() where tenant_id = ? and id = any(?::uuid[])`, [toVersionId, tenantId, ids]);
  const carried = await em.execute<Record<'enrollment_id' | 'lesson_id', unknown>[]>(
    `select lp.enrollment_id, lp.lesson_id
       from lesson_progress lp
       join version_lessons n on n.tenant_id = lp.tenant_id and n.version_id = ? and n.lesson_id = lp.lesson_id
      where lp.tenant_id = ? and lp.enrollment_id = any(?::uuid[])
      order by lp.enrollment_id, n.position`,
    [toVersionId, tenantId, ids],
  );
  return { moved, carried: carried.map((r) => ({ enrollmentId: String(r.enrollment_id), lessonId: String(r.lesson_id) })) };
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
