// The event handlers' raw SQL: the once-per-course announcement claim. Every statement names
// tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. It runs in the handler's
// transaction, with the kernel's processed_events row.
import type { EntityManager } from '@mikro-orm/postgresql';

/** Claims the announcement of a course's first publication; false when it was announced already. */
export async function claimCourseAnnouncement(em: EntityManager, tenantId: string, courseId: string, sourceEventId: string): Promise<boolean> {
  const first = await em.execute<Record<'course_id', unknown>[]>(
    'insert into course_announcements (tenant_id, course_id, source_event_id) values (?, ?, ?) on conflict do nothing returning course_id',
    [tenantId, courseId, sourceEventId],
  );
  return first.length > 0;
}
