// The heartbeat module's raw SQL: which lessons a learner may record progress on, read from
// PostgreSQL when the access cache misses (access-cache.ts). Every statement names
// tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. Runs in the caller's unit of
// work.
import type { EntityManager } from '@mikro-orm/postgresql';

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
