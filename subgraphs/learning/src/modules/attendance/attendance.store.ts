// Live attendance's raw SQL: storing what live's AttendanceRecorded reports for learners, and
// finding the enrollments whose course completion it may change. Every statement names
// tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. Each runs in the handler's
// transaction. The completion rule that reads session_attendance is the progress statement's
// (progress/progress.store.ts, course_eval).
import type { EntityManager } from '@mikro-orm/postgresql';
import { uuidArrayLiteral } from '@lectern/kernel/rows';

/** One learner's attendance of one ended session. */
export interface AttendanceRow {
  learnerId: string;
  attendedSeconds: number;
  percent: number;
}

/**
 * Stores the learners' attendance of the session. An upsert keeping the larger figures: a
 * redelivered (or re-sent) report changes nothing, and attendance never shrinks.
 */
export async function recordAttendance(
  em: EntityManager,
  tenantId: string,
  session: { sessionId: string; offeringId: string; endedAt: string },
  rows: readonly AttendanceRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await em.execute(
    `insert into session_attendance (tenant_id, session_id, learner_id, offering_id, attended_seconds, percent, session_ended_at)
     select ?, ?, x.learner_id, ?, x.attended_seconds, x.percent, ?::timestamptz
       from jsonb_to_recordset(?::jsonb) as x(learner_id uuid, attended_seconds int, percent int)
     on conflict (tenant_id, session_id, learner_id) do update
        set attended_seconds = greatest(session_attendance.attended_seconds, excluded.attended_seconds),
            percent = greatest(session_attendance.percent, excluded.percent)`,
    [
      tenantId,
      session.sessionId,
      session.offeringId,
      session.endedAt,
      JSON.stringify(rows.map((r) => ({ learner_id: r.learnerId, attended_seconds: r.attendedSeconds, percent: r.percent }))),
    ],
  );
}

/** An enrollment to re-evaluate, with one lesson of its version that holds progress (the progress statement's input). */
export interface Reevaluation {
  enrollmentId: string;
  lessonId: string;
}

/**
 * The learners' enrollments in the offering that may complete now: not dropped, not completed,
 * with some progress in their course version. Locks those enrollment rows first (sorted, as
 * every progress writer does), so a progress write racing this event either committed before
 * (and its lessons are seen here) or runs after (and sees the attendance): neither misses the
 * completion. An enrollment without progress cannot complete, so it needs no re-evaluation.
 */
export async function enrollmentsToReevaluate(em: EntityManager, tenantId: string, offeringId: string, learnerIds: readonly string[]): Promise<Reevaluation[]> {
  if (learnerIds.length === 0) return [];
  const locked = await em.execute<Record<'id', unknown>[]>(
    `select id from enrollments
      where tenant_id = ? and offering_id = ? and learner_id = any(?::uuid[]) and status <> 'DROPPED' and progress_status <> 'COMPLETED'
      order by id for update`,
    [tenantId, offeringId, uuidArrayLiteral([...new Set(learnerIds)])],
  );
  if (locked.length === 0) return [];
  const rows = await em.execute<Record<'enrollment_id' | 'lesson_id', unknown>[]>(
    `select distinct on (e.id) e.id as enrollment_id, lp.lesson_id
       from enrollments e
       join lesson_progress lp on lp.tenant_id = e.tenant_id and lp.enrollment_id = e.id
       join version_lessons vl on vl.tenant_id = e.tenant_id and vl.version_id = e.course_version_id and vl.lesson_id = lp.lesson_id
      where e.tenant_id = ? and e.id = any(?::uuid[])
      order by e.id, vl.position`,
    [tenantId, uuidArrayLiteral(locked.map((r) => String(r.id)))],
  );
  return rows.map((r) => ({ enrollmentId: String(r.enrollment_id), lessonId: String(r.lesson_id) }));
}
