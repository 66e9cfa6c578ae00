// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Queries run
// in the request's unit of work (ORM filter and RLS) and name the tenant themselves (raw SQL).
//
// Visibility: `sessionAccess` reads sessions together with how the caller may use each
// (MANAGE: teaches one of its cohorts or manages all; ATTEND: an active learner of one of its
// cohorts; null: NOT_FOUND). Pages of sessions apply the same rule in SQL.
//
// Pages of many parents at once: one statement per relation, a UNION ALL of one keyset
// subquery per parent (each with its own cursor, direction and limit + 1 rows, kernel
// pagination.ts); totalCount is another batched loader, run only when a client selects it.
import { DataLoader, oneLoader, manyLoader, pageRequest, toConnection, mapConnection, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import { childCounts, childPages, type PageRequest } from '@lectern/kernel/pagination';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { timestamp, optionalTimestamp } from '@lectern/kernel/rows';
import type { SessionAccess } from './access.ts';
import { ModerationAction, Session, type ChatMessageView, type RaisedHandView } from './modules/session/session.entity.ts';

/** Whose eyes: every session of the organization, or those of one person's cohorts. */
export type Viewer = { all: true; userId: string | null } | { all: false; userId: string };

type Row = Record<string, unknown>;
const NO_ONE = '00000000-0000-0000-0000-000000000000';

/** The lists a client pages, by their parent. */
const RELATIONS = {
  offeringSessions: { table: 'sessions', col: 'offering_id', order: 'startsAt' },
  sessionMessages: { table: 'chat_messages', col: 'session_id', order: 'seq' },
  sessionModeration: { table: 'moderation_actions', col: 'session_id', order: 'seq' },
} as const;
export type PageRelation = keyof typeof RELATIONS;

const ORDERS = {
  seq: { cols: [{ expr: 't.seq', type: 'bigint' }], cursor: (r: Row) => [Number(r.seq)] },
  startsAt: { cols: [{ expr: 't.starts_at', type: 'timestamptz' }, { expr: 't.seq', type: 'bigint' }], cursor: (r: Row) => [timestamp(r.starts_at).toISOString(), Number(r.seq)] },
} as const;

export interface PageKey {
  rel: PageRelation;
  id: string;
  args: PageArgs;
}

/** A chat_messages row as resolvers see it. */
export const messageRow = (r: Row): ChatMessageView => ({
  id: String(r.id),
  sessionId: String(r.session_id),
  authorId: String(r.author_id),
  body: String(r.body),
  createdAt: timestamp(r.created_at),
  editedAt: optionalTimestamp(r.edited_at),
  deletedAt: optionalTimestamp(r.deleted_at),
  deletedBy: r.deleted_by == null ? null : String(r.deleted_by),
});

/**
 * SQL deciding whether `viewer` teaches / attends session row `t` (parameters: tenant, user).
 * Both name the tenant (DESIGN rule 2).
 */
export const TEACHES_SQL = `exists (select 1 from roster_cohorts c where c.tenant_id = ? and c.offering_id = t.offering_id
    and (t.cohort_ids is null or c.cohort_id = any(t.cohort_ids)) and ?::uuid = any(c.instructor_ids))`;
export const ATTENDS_SQL = `exists (select 1 from roster_enrollments e where e.tenant_id = ? and e.offering_id = t.offering_id
    and e.learner_id = ?::uuid and e.status = 'ACTIVE' and (t.cohort_ids is null or e.cohort_id = any(t.cohort_ids)))`;

/** Where presence is read (Redis). */
export interface PresenceReader {
  participants(tenantId: string, sessionIds: readonly string[]): Promise<{ userId: string; since: Date }[][]>;
}

export function createLoaders(uow: UnitOfWork, tenantId: string | null, viewer: Viewer, presence: PresenceReader) {
  const tenant = tenantId ?? NO_ONE;
  const user = viewer.userId ?? NO_ONE;
  const statement = (sql: string, params: unknown[]) => uow.statement<Row>(sql, params);

  /** Sessions with the caller's access to each; one statement per batch. */
  const sessionAccess = oneLoader<string, { session: Session; access: SessionAccess }>(
    async (ids) => {
      const rows = await statement(
        `select t.*, ${TEACHES_SQL} as teaches, ${ATTENDS_SQL} as attends from sessions t where t.tenant_id = ? and t.id = any(${arr([...ids], 'uuid')})`,
        [tenant, user, tenant, user, tenant, ...ids],
      );
      return rows.map((r) => {
        const { teaches, attends, ...columns } = r;
        const yes = (v: unknown) => v === true || v === 't' || v === 'true';
        const access: SessionAccess = viewer.all || yes(teaches) ? 'MANAGE' : yes(attends) ? 'ATTEND' : null;
        return { session: uow.map(Session, columns), access };
      });
    },
    (r) => r.session.id,
  );

  /** The visibility condition of a page of sessions (empty for managers of everything). */
  const sessionVisibility = (): { sql: string; params: unknown[] } =>
    viewer.all ? { sql: '', params: [] } : { sql: ` and (${TEACHES_SQL} or ${ATTENDS_SQL})`, params: [tenant, user, tenant, user] };

  const counts = new DataLoader<PageKey, number, string>(
    async (keys) => {
      const out = new Array<number>(keys.length).fill(0);
      const groups = new Map<PageRelation, number[]>();
      keys.forEach((k, i) => (groups.get(k.rel) ?? groups.set(k.rel, []).get(k.rel)!).push(i));
      for (const [rel, idx] of groups) {
        const { table, col } = RELATIONS[rel];
        const where = rel === 'offeringSessions' ? sessionVisibility() : undefined;
        const n = await childCounts(statement, { table, parentColumn: col, tenantId: tenant }, idx.map((i) => keys[i]!.id), where);
        idx.forEach((i, k) => (out[i] = n[k]!));
      }
      return out;
    },
    { cacheKeyFn: (k) => `${k.rel}|${k.id}` },
  );

  const pages = new DataLoader<PageKey, Connection<Row>, string>(
    async (keys) => {
      const requests = keys.map((k) => {
        try {
          return pageRequest(k.args, ORDERS[RELATIONS[k.rel].order].cols.length);
        } catch (err) {
          return err as Error;
        }
      });
      const out: (Connection<Row> | Error)[] = requests.map((r) => (r instanceof Error ? r : (null as unknown as Connection<Row>)));
      const groups = new Map<PageRelation, number[]>();
      keys.forEach((k, i) => {
        if (!(requests[i] instanceof Error)) (groups.get(k.rel) ?? groups.set(k.rel, []).get(k.rel)!).push(i);
      });
      for (const [rel, idx] of groups) {
        const { table, col, order } = RELATIONS[rel];
        const { cols, cursor } = ORDERS[order];
        const where = rel === 'offeringSessions' ? sessionVisibility() : undefined;
        const asked = idx.map((i) => ({ parentId: keys[i]!.id, page: requests[i] as PageRequest, ascending: !(requests[i] as PageRequest).backward, where }));
        const rows = await childPages(statement, { table, parentColumn: col, tenantId: tenant, order: cols }, asked);
        idx.forEach((i, n) => {
          const k = keys[i]!;
          out[i] = toConnection(rows[n]!, asked[n]!.page, cursor, () => counts.load({ rel: k.rel, id: k.id, args: {} }));
        });
      }
      return out;
    },
    { cacheKeyFn: (k) => JSON.stringify([k.rel, k.id, k.args.first ?? null, k.args.after ?? null, k.args.last ?? null, k.args.before ?? null]) },
  );

  const strip = (r: Row) => {
    const { page_key: _k, ...columns } = r;
    return columns;
  };

  const loaders = {
    sessionAccess,
    /** A session of the organization the caller may see; null otherwise (missing, another organization's, not theirs). */
    session: new DataLoader<string, Session | null>(async (ids) => {
      const found = await sessionAccess.loadMany(ids);
      return found.map((f) => (f instanceof Error ? f : f && f.access ? f.session : null));
    }),
    /** A chat message by id (its session's visibility is checked by the caller). */
    message: oneLoader<string, ChatMessageView>(
      async (ids) => (await statement(`select * from chat_messages where tenant_id = ? and id = any(${arr([...ids], 'uuid')})`, [tenant, ...ids])).map(messageRow),
      (m) => m.id,
    ),
    /** A moderation action by id (its session's visibility is checked by the caller). */
    moderationAction: oneLoader<string, ModerationAction>(
      async (ids) => (await statement(`select * from moderation_actions where tenant_id = ? and id = any(${arr([...ids], 'uuid')})`, [tenant, ...ids])).map((r) => uow.map(ModerationAction, r)),
      (m) => m.id,
    ),
    /** The instructors of each session's cohorts (union, without duplicates). */
    instructors: manyLoader<string, { sessionId: string; userId: string }>(async (ids) => {
      const rows = await statement(
        `select distinct t.id as session_id, i.user_id
           from sessions t
           join roster_cohorts c on c.tenant_id = t.tenant_id and c.offering_id = t.offering_id and (t.cohort_ids is null or c.cohort_id = any(t.cohort_ids))
           cross join lateral unnest(c.instructor_ids) as i(user_id)
          where t.tenant_id = ? and c.tenant_id = ? and t.id = any(${arr([...ids], 'uuid')})
          order by t.id, i.user_id`,
        [tenant, tenant, ...ids],
      );
      return rows.map((r) => ({ sessionId: String(r.session_id), userId: String(r.user_id) }));
    }, (r) => r.sessionId),
    /** Each session's raise-hand queue, in order. */
    raisedHands: manyLoader<string, RaisedHandView>(async (ids) => {
      const rows = await statement(
        `select session_id, user_id, raised_at, row_number() over (partition by session_id order by seq) as position
           from raised_hands where tenant_id = ? and session_id = any(${arr([...ids], 'uuid')}) order by session_id, seq`,
        [tenant, ...ids],
      );
      return rows.map((r) => ({ sessionId: String(r.session_id), userId: String(r.user_id), position: Number(r.position), raisedAt: timestamp(r.raised_at) }));
    }, (r) => r.sessionId),
    /** The caller's live mute in each session. */
    viewerMute: oneLoader<string, { sessionId: string; until: Date }>(async (ids) => {
      const rows = await statement(`select session_id, until from mutes where tenant_id = ? and user_id = ? and until > now() and session_id = any(${arr([...ids], 'uuid')})`, [
        tenant,
        user,
        ...ids,
      ]);
      return rows.map((r) => ({ sessionId: String(r.session_id), until: timestamp(r.until) }));
    }, (r) => r.sessionId),
    /** Each session's attendance intervals with the participant's roster role, oldest first. */
    intervals: manyLoader<string, { sessionId: string; userId: string; joinedAt: Date; leftAt: Date | null; learner: boolean }>(async (ids) => {
      const rows = await statement(
        `select a.session_id, a.user_id, a.joined_at, a.left_at,
                exists (select 1 from roster_enrollments e where e.tenant_id = ? and e.offering_id = t.offering_id and e.learner_id = a.user_id
                          and (t.cohort_ids is null or e.cohort_id = any(t.cohort_ids))) as learner
           from attendance_intervals a join sessions t on t.tenant_id = a.tenant_id and t.id = a.session_id
          where a.tenant_id = ? and t.tenant_id = ? and a.session_id = any(${arr([...ids], 'uuid')})
          order by a.session_id, a.user_id, a.joined_at`,
        [tenant, tenant, tenant, ...ids],
      );
      return rows.map((r) => ({
        sessionId: String(r.session_id),
        userId: String(r.user_id),
        joinedAt: timestamp(r.joined_at),
        leftAt: optionalTimestamp(r.left_at),
        learner: r.learner === true || r.learner === 't',
      }));
    }, (r) => r.sessionId),
    /** Who is present in each session now (Redis), in order of arrival. */
    participants: new DataLoader<string, { userId: string; since: Date }[]>(async (ids) => presence.participants(tenant, ids)),
    pages,
    counts,
    /** A page of an offering's sessions the caller may see (by starts_at). */
    offeringSessions: async (offeringId: string, args: PageArgs) => mapConnection(await pages.load({ rel: 'offeringSessions', id: offeringId, args }), (r) => uow.map(Session, strip(r))),
    /** A page of a session's chat messages, oldest first. */
    sessionMessages: async (sessionId: string, args: PageArgs) => mapConnection(await pages.load({ rel: 'sessionMessages', id: sessionId, args }), (r) => messageRow(r)),
    /** A page of a session's moderation actions, oldest first. */
    sessionModeration: async (sessionId: string, args: PageArgs) => mapConnection(await pages.load({ rel: 'sessionModeration', id: sessionId, args }), (r) => uow.map(ModerationAction, strip(r))),
  };
  const all = [sessionAccess, loaders.session, loaders.message, loaders.moderationAction, loaders.instructors, loaders.raisedHands, loaders.viewerMute, loaders.intervals, loaders.participants, pages, counts];
  return {
    ...loaders,
    /** Forgets everything loaded so far: a mutation's payload must show the state it left. */
    clearAll() {
      for (const loader of all) loader.clearAll();
    },
  };
}

export type LiveLoaders = ReturnType<typeof createLoaders>;
