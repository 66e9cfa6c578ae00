// Live's set-based SQL inside a mutation's (or a presence transition's) transaction. Every
// statement names tenant_id = ? itself (DESIGN rule 2); RLS is the second layer.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Statements } from '@lectern/kernel/uow';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { optionalTimestamp, timestamp, uuidArrayLiteral } from '@lectern/kernel/rows';
import type { SessionAccess } from '../../access.ts';
import type { Viewer } from '../../loaders.ts';
import { ATTENDS_SQL, TEACHES_SQL, messageRow } from '../../loaders.ts';
import { Session, type ChatMessageView } from './session.entity.ts';

type Row = Record<string, unknown>;
const NO_ONE = '00000000-0000-0000-0000-000000000000';
const yes = (v: unknown) => v === true || v === 't' || v === 'true';

/**
 * The session, locked for this transaction, with how `viewer` may use it; null when there is
 * none. Changes of the session itself lock it `update`; chat, hands and mutes lock it `share`
 * (they never wait for each other, and a session ending waits for them, so nothing is posted
 * into an ENDED session).
 */
export async function lockSession(em: EntityManager, tenantId: string, sessionId: string, viewer: Viewer, mode: 'update' | 'share' = 'update'): Promise<{ session: Session; access: SessionAccess } | null> {
  const user = viewer.userId ?? NO_ONE;
  const [row] = await em.execute<Row[]>(`select t.*, ${TEACHES_SQL} as teaches, ${ATTENDS_SQL} as attends from sessions t where t.tenant_id = ? and t.id = ? for ${mode === 'share' ? 'share' : 'update'} of t`, [
    tenantId,
    user,
    tenantId,
    user,
    tenantId,
    sessionId,
  ]);
  if (!row) return null;
  const { teaches, attends, ...columns } = row;
  const access: SessionAccess = viewer.all || yes(teaches) ? 'MANAGE' : yes(attends) ? 'ATTEND' : null;
  return { session: em.map(Session, columns), access };
}

/** The message, locked for this transaction; null when there is none. */
export async function lockMessage(em: EntityManager, tenantId: string, messageId: string): Promise<ChatMessageView | null> {
  const [row] = await em.execute<Row[]>('select * from chat_messages where tenant_id = ? and id = ? for update', [tenantId, messageId]);
  return row ? messageRow(row) : null;
}

/** The roster cohorts of an offering, with their instructors. */
export async function offeringCohorts(em: EntityManager, tenantId: string, offeringId: string): Promise<{ cohortId: string; instructorIds: string[] }[]> {
  const rows = await em.execute<Row[]>('select cohort_id, instructor_ids from roster_cohorts where tenant_id = ? and offering_id = ?', [tenantId, offeringId]);
  return rows.map((r) => ({ cohortId: String(r.cohort_id), instructorIds: Array.isArray(r.instructor_ids) ? r.instructor_ids.map(String) : String(r.instructor_ids ?? '').replace(/^\{|\}$/g, '').split(',').filter(Boolean) }));
}

/** Whether `userId` holds an active seat in a cohort of the session (its learners). */
export async function isLearnerOf(em: EntityManager, tenantId: string, session: Session, userId: string): Promise<boolean> {
  const cohorts = session.cohortIds;
  const rows = await em.execute<Row[]>(
    `select 1 from roster_enrollments where tenant_id = ? and offering_id = ? and learner_id = ? and status = 'ACTIVE'${cohorts ? ` and cohort_id = any(${arr(cohorts, 'uuid')})` : ''} limit 1`,
    [tenantId, session.offeringId, userId, ...(cohorts ?? [])],
  );
  return rows.length > 0;
}

/** The person's mute in the session, if it still runs. */
export async function activeMute(em: EntityManager, tenantId: string, sessionId: string, userId: string): Promise<Date | null> {
  const [row] = await em.execute<Row[]>('select until from mutes where tenant_id = ? and session_id = ? and user_id = ? and until > now()', [tenantId, sessionId, userId]);
  return row ? timestamp(row.until) : null;
}

export async function upsertMute(em: EntityManager, tenantId: string, sessionId: string, userId: string, until: Date, by: string): Promise<void> {
  await em.execute(
    `insert into mutes (tenant_id, session_id, user_id, until, muted_by) values (?, ?, ?, ?, ?)
     on conflict (tenant_id, session_id, user_id) do update set until = excluded.until, muted_by = excluded.muted_by`,
    [tenantId, sessionId, userId, until.toISOString(), by],
  );
}

/** Ends the person's mute; whether one was running. */
export async function deleteMute(em: EntityManager, tenantId: string, sessionId: string, userId: string): Promise<boolean> {
  const rows = await em.execute<Row[]>('delete from mutes where tenant_id = ? and session_id = ? and user_id = ? returning until', [tenantId, sessionId, userId]);
  return rows.some((r) => timestamp(r.until) > new Date());
}

export async function recordModeration(
  em: EntityManager,
  tenantId: string,
  a: { id: string; sessionId: string; actorId: string; action: string; targetUserId: string; messageId?: string | null; reason?: string | null; mutedUntil?: Date | null },
): Promise<void> {
  await em.execute(
    `insert into moderation_actions (id, tenant_id, session_id, actor_id, action, target_user_id, message_id, reason, muted_until) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [a.id, tenantId, a.sessionId, a.actorId, a.action, a.targetUserId, a.messageId ?? null, a.reason ?? null, a.mutedUntil?.toISOString() ?? null],
  );
}

/** Raises the person's hand (kept where it was when already raised); its place in the queue, and whether it is new. */
export async function raiseHand(em: EntityManager, tenantId: string, sessionId: string, userId: string): Promise<{ position: number; raisedAt: Date; raised: boolean }> {
  const inserted = await em.execute<Row[]>('insert into raised_hands (tenant_id, session_id, user_id) values (?, ?, ?) on conflict do nothing returning user_id', [tenantId, sessionId, userId]);
  const [row] = await em.execute<Row[]>(
    `select raised_at, position from (
       select user_id, raised_at, row_number() over (order by seq) as position from raised_hands where tenant_id = ? and session_id = ?
     ) q where user_id = ?`,
    [tenantId, sessionId, userId],
  );
  return { position: Number(row!.position), raisedAt: timestamp(row!.raised_at), raised: inserted.length > 0 };
}

/** Lowers the person's hand; whether it was raised. */
export async function lowerHand(em: EntityManager, tenantId: string, sessionId: string, userId: string): Promise<boolean> {
  const rows = await em.execute<Row[]>('delete from raised_hands where tenant_id = ? and session_id = ? and user_id = ? returning user_id', [tenantId, sessionId, userId]);
  return rows.length > 0;
}

export async function clearHands(em: EntityManager, tenantId: string, sessionId: string): Promise<void> {
  await em.execute('delete from raised_hands where tenant_id = ? and session_id = ?', [tenantId, sessionId]);
}

/** Opens an attendance interval for each person, if the session is LIVE and they have none open. */
export async function openIntervals(em: EntityManager, tenantId: string, sessionId: string, userIds: readonly string[], at: Date): Promise<number> {
  if (!userIds.length) return 0;
  const rows = await em.execute<Row[]>(
    `insert into attendance_intervals (tenant_id, session_id, user_id, joined_at)
     select ?, ?, u.id, ? from unnest(${arr(userIds, 'uuid')}) as u(id)
      where exists (select 1 from sessions s where s.tenant_id = ? and s.id = ? and s.status = 'LIVE')
     on conflict (tenant_id, session_id, user_id) where left_at is null do nothing
     returning user_id`,
    [tenantId, sessionId, at.toISOString(), ...userIds, tenantId, sessionId],
  );
  return rows.length;
}

/**
 * Which (session, person) pairs the roster still lets in: each person teaches one of the
 * session's cohorts or holds an active seat in one (loaders.ts TEACHES_SQL / ATTENDS_SQL, for
 * many people at once). Answers `${sessionId}:${userId}` keys.
 */
export async function stillAllowed(uow: Statements, tenantId: string, pairs: readonly { sessionId: string; userId: string }[]): Promise<Set<string>> {
  if (!pairs.length) return new Set();
  const rows = await uow.statement<{ session_id: string; user_id: string }>(
    `select x.session_id, x.user_id
       from unnest(?::uuid[], ?::uuid[]) as x(session_id, user_id)
       join sessions t on t.tenant_id = ? and t.id = x.session_id
      where exists (select 1 from roster_cohorts c where c.tenant_id = ? and c.offering_id = t.offering_id
                      and (t.cohort_ids is null or c.cohort_id = any(t.cohort_ids)) and x.user_id = any(c.instructor_ids))
         or exists (select 1 from roster_enrollments e where e.tenant_id = ? and e.offering_id = t.offering_id
                      and e.learner_id = x.user_id and e.status = 'ACTIVE' and (t.cohort_ids is null or e.cohort_id = any(t.cohort_ids)))`,
    [uuidArrayLiteral(pairs.map((p) => p.sessionId)), uuidArrayLiteral(pairs.map((p) => p.userId)), tenantId, tenantId, tenantId],
  );
  return new Set(rows.map((r) => `${r.session_id}:${r.user_id}`));
}

/** Closes these people's open intervals (everyone's when `userIds` is null) at `at`. */
export async function closeIntervals(em: EntityManager, tenantId: string, sessionId: string, userIds: readonly string[] | null, at: Date): Promise<void> {
  if (userIds?.length === 0) return;
  await em.execute(
    `update attendance_intervals set left_at = greatest(joined_at, ?::timestamptz)
      where tenant_id = ? and session_id = ? and left_at is null${userIds ? ' and user_id = any(?::uuid[])' : ''}`,
    [at.toISOString(), tenantId, sessionId, ...(userIds ? [uuidArrayLiteral(userIds)] : [])],
  );
}

/** Serialises presence changes of these people in the session for this transaction (in id order: no deadlock). */
export async function lockPeople(em: EntityManager, tenantId: string, sessionId: string, userIds: readonly string[]): Promise<void> {
  if (!userIds.length) return;
  await em.execute(
    `select count(pg_advisory_xact_lock(hashtextextended('live.presence:' || ? || ':' || ? || ':' || p.u::text, 0))) from (select unnest(?::uuid[]) as u order by 1) p`,
    [tenantId, sessionId, uuidArrayLiteral([...userIds].sort())],
  );
}

/** Every interval of the session, with whether its person is a learner of the session's cohorts. */
export async function sessionIntervals(em: EntityManager, tenantId: string, session: Session): Promise<{ userId: string; joinedAt: Date; leftAt: Date | null; learner: boolean }[]> {
  const cohorts = session.cohortIds;
  const rows = await em.execute<Row[]>(
    `select a.user_id, a.joined_at, a.left_at,
            exists (select 1 from roster_enrollments e where e.tenant_id = ? and e.offering_id = ? and e.learner_id = a.user_id${cohorts ? ` and e.cohort_id = any(${arr(cohorts, 'uuid')})` : ''}) as learner
       from attendance_intervals a where a.tenant_id = ? and a.session_id = ? order by a.user_id, a.joined_at`,
    [tenantId, session.offeringId, ...(cohorts ?? []), tenantId, session.id],
  );
  return rows.map((r) => ({ userId: String(r.user_id), joinedAt: timestamp(r.joined_at), leftAt: optionalTimestamp(r.left_at), learner: yes(r.learner) }));
}
