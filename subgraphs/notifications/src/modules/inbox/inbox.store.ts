// The inbox module's raw SQL: a page of the caller's inbox, marking read, and the delivery's
// set-based inserts of notifications and pending digest items. Every statement names
// tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. Each runs in the caller's
// unit of work (the request's, or the event handler's transaction).
import type { EntityManager } from '@mikro-orm/postgresql';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import type { Frequency } from '../preferences/categories.ts';
import type { NewItem } from './delivery.service.ts';

/** A page row: the notifications columns as the driver returns them (for em.map), and its cursor time. */
export interface InboxPageRow {
  columns: Record<string, unknown>;
  /** created_at, UTC with microseconds. */
  cursor: string;
}

/** Which of the user's in-app notifications a page or count covers. */
export interface InboxFilter {
  tenantId: string;
  userId: string;
  /** true: unread only; false: read only; null: both. */
  unread: boolean | null;
  /** Only these categories; null: all. */
  categories: readonly string[] | null;
}

/** The filter's conditions beyond the user's own inbox (`n.tenant_id = ? and n.user_id = ?`, written in each statement). */
function inboxWhere(q: InboxFilter): { where: string[]; params: unknown[] } {
  const where = ['n.in_app'];
  const params: unknown[] = [q.tenantId, q.userId];
  if (q.unread === true) where.push('n.read_at IS NULL');
  if (q.unread === false) where.push('n.read_at IS NOT NULL');
  if (q.categories) {
    where.push('n.category = any(?::text[])');
    params.push(`{${q.categories.join(',')}}`);
  }
  return { where, params };
}

/**
 * A page of the user's in-app notifications in list order (newest first): forward, the
 * `limit` rows after `cursor` ([created_at as UTC text with microseconds, id], validated);
 * backward, the `limit` rows before it, nearest first (toConnection puts them back in order).
 */
export async function inboxPage(
  em: EntityManager,
  q: InboxFilter & { cursor: [string, string] | null; backward: boolean; limit: number },
): Promise<InboxPageRow[]> {
  const { where, params } = inboxWhere(q);
  if (q.cursor) {
    where.push(`(n.created_at, n.id) ${q.backward ? '>' : '<'} (?::timestamptz, ?::uuid)`);
    params.push(q.cursor[0], q.cursor[1]);
  }
  params.push(q.limit);
  const direction = q.backward ? 'ASC' : 'DESC';
  const raw = await em.execute<Record<string, unknown>[]>(
    `SELECT n.*, to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
         FROM notifications n
        WHERE n.tenant_id = ? AND n.user_id = ? AND ${where.join(' AND ')}
        ORDER BY n.created_at ${direction}, n.id ${direction}
        LIMIT ?`,
    params,
  );
  return raw.map((row) => {
    const { cursor_at: cursor, ...columns } = row;
    return { columns, cursor: String(cursor) };
  });
}

/** How many of the user's in-app notifications the filter covers. */
export async function inboxCount(em: EntityManager, q: InboxFilter): Promise<number> {
  const { where, params } = inboxWhere(q);
  const [row] = await em.execute<{ n: number }[]>(`SELECT count(*)::int AS n FROM notifications n WHERE n.tenant_id = ? AND n.user_id = ? AND ${where.join(' AND ')}`, params);
  return Number(row?.n ?? 0);
}

/** Marks every unread in-app notification of the user read; returns the ids marked. */
export async function markAllRead(em: EntityManager, tenantId: string, userId: string): Promise<string[]> {
  const marked = await em.execute<Record<'id', unknown>[]>(
    'update notifications set read_at = now() where tenant_id = ? and user_id = ? and in_app and read_at is null returning id',
    [tenantId, userId],
  );
  return marked.map((r) => String(r.id));
}

/** A notification of the user among those asked, now read, and whether it was unread before. */
export interface MarkedRow {
  id: string;
  wasUnread: boolean;
}

/** Marks the user's in-app notifications among `ids` read (locked first); returns those found. */
export async function markRead(em: EntityManager, tenantId: string, userId: string, ids: readonly string[]): Promise<MarkedRow[]> {
  const rows = await em.execute<Record<'id' | 'was_unread', unknown>[]>(
    `with target as (
                 select id, read_at is null as was_unread from notifications
                  where tenant_id = ? and user_id = ? and in_app and id = any(?::uuid[])
                  for update
               )
               update notifications n set read_at = coalesce(n.read_at, now())
                 from target where n.tenant_id = ? and n.id = target.id
               returning n.id, target.was_unread`,
    [tenantId, userId, uuidArrayLiteral(ids), tenantId],
  );
  return rows.map((r) => ({ id: String(r.id), wasUnread: r.was_unread === true || r.was_unread === 't' }));
}

/** A notification insertNotifications inserted: its id and creation time. */
export interface InsertedNotification {
  id: string;
  createdAt: Date;
}

/** Inserts one notification of `item` per row (skipping any the event already created); returns those inserted. */
export async function insertNotifications(
  em: EntityManager,
  tenantId: string,
  eventId: string,
  item: NewItem,
  rows: readonly { id: string; user_id: string; in_app: boolean }[],
): Promise<InsertedNotification[]> {
  const inserted = await em.execute<Record<'id' | 'created_at', unknown>[]>(
    `insert into notifications (id, tenant_id, user_id, category, title, body, link, course_id, in_app, source_event_id)
         select r.id, ?, r.user_id, ?, ?, ?, ?, ?, r.in_app, ?
           from jsonb_to_recordset(?::jsonb) as r(id uuid, user_id uuid, in_app boolean)
         on conflict (tenant_id, user_id, source_event_id, category) do nothing
         returning id, created_at`,
    [tenantId, item.category, item.title, item.body, item.link, item.courseId, eventId, JSON.stringify(rows)],
  );
  return inserted.map((r) => ({ id: String(r.id), createdAt: r.created_at instanceof Date ? r.created_at : new Date(String(r.created_at)) }));
}

/** Inserts the pending digest items (skipping any already there). */
export async function insertDigestItems(
  em: EntityManager,
  tenantId: string,
  rows: readonly { notification_id: string; user_id: string; frequency: Frequency }[],
): Promise<void> {
  await em.execute(
    `insert into digest_items (tenant_id, user_id, notification_id, frequency)
         select ?, r.user_id, r.notification_id, r.frequency from jsonb_to_recordset(?::jsonb) as r(notification_id uuid, user_id uuid, frequency text)
         on conflict do nothing`,
    [tenantId, JSON.stringify(rows)],
  );
}
