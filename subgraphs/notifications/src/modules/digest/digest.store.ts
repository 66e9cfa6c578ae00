// The digest module's raw SQL: pending digest items, digests already sent, taking a user's
// items into a new digest, and the organizations registry the schedulers are restored from.
// Every statement on a tenant table names tenant_id = ? itself (DESIGN rule 2); RLS is the
// second layer. The registry (organizations) has no tenant_id: it is not tenant data.
import type { EntityManager } from '@mikro-orm/postgresql';
import { timestamp } from '@lectern/kernel/rows';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import type { DigestFrequency } from '../preferences/categories.ts';

/** A user with items waiting for a digest of `frequency`. */
export interface PendingDigest {
  userId: string;
  frequency: DigestFrequency;
}

/** A digest already sent (or being sent) for a user, frequency and period. */
export interface SentDigest {
  userId: string;
  frequency: string;
  periodKey: string;
}

/** A notification as a digest lists it. */
export interface DigestEntry {
  title: string;
  body: string;
  link: string | null;
  createdAt: Date;
}

type PendingRow = Record<'user_id' | 'frequency', unknown>;
type SentRow = Record<'user_id' | 'frequency' | 'period_key', unknown>;
type EntryRow = Record<'title' | 'body' | 'link' | 'created_at', unknown>;

/** Every user and frequency of the organization with items not yet in a digest. */
export async function pendingDigests(em: EntityManager, tenantId: string): Promise<PendingDigest[]> {
  const rows = await em.execute<PendingRow[]>(
    'select distinct user_id, frequency from digest_items where tenant_id = ? and digest_id is null order by user_id, frequency',
    [tenantId],
  );
  return rows.map((r) => ({ userId: String(r.user_id), frequency: String(r.frequency) as DigestFrequency }));
}

/** A PostgreSQL text[] literal of period keys (digits, dashes and W only). */
function textArray(values: readonly string[]): string {
  if (!values.every((v) => /^[0-9W-]+$/.test(v))) throw new Error('textArray: unexpected value');
  return `{${[...new Set(values)].join(',')}}`;
}

/** The digests of `userIds` for any of `periodKeys` that exist already. */
export async function sentDigests(em: EntityManager, tenantId: string, userIds: readonly string[], periodKeys: readonly string[]): Promise<SentDigest[]> {
  const rows = await em.execute<SentRow[]>(
    'select user_id, frequency, period_key from digests where tenant_id = ? and user_id = any(?::uuid[]) and period_key = any(?::text[])',
    [tenantId, uuidArrayLiteral(userIds), textArray(periodKeys)],
  );
  return rows.map((r) => ({ userId: String(r.user_id), frequency: String(r.frequency), periodKey: String(r.period_key) }));
}

/** The user's pending item ids of `frequency`, locked (a concurrent run waits, then finds them taken). */
export async function lockPendingItems(em: EntityManager, tenantId: string, userId: string, frequency: DigestFrequency): Promise<string[]> {
  const rows = await em.execute<Record<'notification_id', unknown>[]>(
    'select notification_id from digest_items where tenant_id = ? and user_id = ? and frequency = ? and digest_id is null for update',
    [tenantId, userId, frequency],
  );
  return rows.map((r) => String(r.notification_id));
}

/** Inserts the digest row; false when the user already has one for the period (a concurrent run won). */
export async function insertDigest(
  em: EntityManager,
  d: { id: string; tenantId: string; userId: string; frequency: DigestFrequency; periodKey: string; itemCount: number },
): Promise<boolean> {
  const created = await em.execute<Record<'id', unknown>[]>(
    `insert into digests (id, tenant_id, user_id, frequency, period_key, item_count) values (?, ?, ?, ?, ?, ?)
       on conflict (tenant_id, user_id, frequency, period_key) do nothing returning id`,
    [d.id, d.tenantId, d.userId, d.frequency, d.periodKey, d.itemCount],
  );
  return created.length > 0;
}

/** Puts the pending items among `notificationIds` into the digest. */
export async function takeItems(em: EntityManager, tenantId: string, digestId: string, notificationIds: readonly string[]): Promise<void> {
  await em.execute('update digest_items set digest_id = ? where tenant_id = ? and notification_id = any(?::uuid[]) and digest_id is null', [
    digestId,
    tenantId,
    uuidArrayLiteral(notificationIds),
  ]);
}

/** The notifications `ids` as a digest lists them, oldest first. */
export async function digestEntries(em: EntityManager, tenantId: string, ids: readonly string[]): Promise<DigestEntry[]> {
  const rows = await em.execute<EntryRow[]>(
    'select title, body, link, created_at from notifications where tenant_id = ? and id = any(?::uuid[]) order by created_at, id',
    [tenantId, uuidArrayLiteral(ids)],
  );
  return rows.map((r) => ({ title: String(r.title), body: String(r.body), link: r.link == null ? null : String(r.link), createdAt: timestamp(r.created_at) }));
}

/** Registers the organization (not tenant data: its own statement, outside any tenant's transaction). */
export async function registerOrganization(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute('insert into organizations (id) values (?) on conflict do nothing', [tenantId]);
}

/** Every registered organization's id, oldest first. */
export async function registeredOrganizations(em: EntityManager): Promise<string[]> {
  const rows = await em.execute<Record<'id', unknown>[]>('select id from organizations order by first_seen_at');
  return rows.map((r) => String(r.id));
}
