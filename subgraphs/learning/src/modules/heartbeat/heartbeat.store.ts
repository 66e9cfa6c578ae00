// The heartbeat module's raw SQL: which lessons a learner may record progress on, read from
// PostgreSQL when the access cache misses (access-cache.ts). Every statement names
// tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. Runs in the caller's unit of
// work.
import type { EntityManager } from '@mikro-orm/postgresql';
import { uuidArrayLiteral } from '@lectern/kernel/rows';

export interface LessonAccess {
  lessonId: string;
  enrollmentId: string;
}

/** Lessons of the learner's ACTIVE or COMPLETED enrollments (the most recent enrollment wins). */
export async function readAccess(em: EntityManager, tenantId: string, learnerId: string): Promise<LessonAccess[]> {
  const rows = await em.execute<Record<'lesson_id' | 'enrollment_id', unknown>[]>(
    `select vl.lesson_id, e.id as enrollment_id
       from enrollments e
       join version_lessons vl on vl.tenant_id = e.tenant_id and vl.version_id = e.course_version_id
      where e.tenant_id = ? and e.learner_id = ? and e.status in ('ACTIVE', 'COMPLETED')
      order by e.enrolled_at, e.id`,
    [tenantId, learnerId],
  );
  return rows.map((r) => ({ lessonId: String(r.lesson_id), enrollmentId: String(r.enrollment_id) }));
}

/** The learner's ACTIVE or COMPLETED enrollments' courses and pinned versions, with the lessons of `lessonIds` the projection knows in another version of those courses. */
export async function enrolledCourses(em: EntityManager, tenantId: string, learnerId: string, lessonIds: readonly string[]): Promise<{ courseIds: string[]; pinned: string[]; otherVersionLessons: Set<string> }> {
  const rows = await em.execute<Record<'course_id' | 'course_version_id', unknown>[]>(
    `select distinct course_id, course_version_id from enrollments where tenant_id = ? and learner_id = ? and status in ('ACTIVE', 'COMPLETED')`,
    [tenantId, learnerId],
  );
  const courseIds = [...new Set(rows.map((r) => String(r.course_id)))];
  const pinned = rows.map((r) => String(r.course_version_id));
  if (!courseIds.length || !lessonIds.length) return { courseIds, pinned, otherVersionLessons: new Set() };
  const known = await em.execute<Record<'lesson_id', unknown>[]>(
    `select distinct lesson_id from version_lessons
      where tenant_id = ? and course_id = any(?::uuid[]) and lesson_id = any(?::uuid[]) and version_id <> all(?::uuid[])`,
    [tenantId, uuidArrayLiteral(courseIds), uuidArrayLiteral([...lessonIds]), uuidArrayLiteral(pinned)],
  );
  return { courseIds, pinned, otherVersionLessons: new Set(known.map((r) => String(r.lesson_id))) };
}
