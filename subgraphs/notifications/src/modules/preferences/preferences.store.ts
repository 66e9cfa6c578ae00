// The preferences module's raw SQL: the handlers' batch lookup, the upsert of one choice, and
// moving the items waiting for an email digest when a choice changes. Every statement names
// tenant_id = ? itself (DESIGN rule 2); RLS is the second layer.
import type { EntityManager } from '@mikro-orm/postgresql';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import type { Category, Channel, Frequency } from './categories.ts';

/** A stored choice of one user, for the category asked. */
export interface StoredFrequency {
  userId: string;
  channel: Channel;
  frequency: Frequency;
}

type FrequencyRow = Record<'user_id' | 'channel' | 'frequency', unknown>;

/** The stored choices of `userIds` for `category`, in one statement. */
export async function storedFrequencies(em: EntityManager, tenantId: string, category: Category, userIds: readonly string[]): Promise<StoredFrequency[]> {
  const rows = await em.execute<FrequencyRow[]>('select user_id, channel, frequency from preferences where tenant_id = ? and category = ? and user_id = any(?::uuid[])', [
    tenantId,
    category,
    uuidArrayLiteral(userIds),
  ]);
  return rows.map((r) => ({ userId: String(r.user_id), channel: String(r.channel) as Channel, frequency: String(r.frequency) as Frequency }));
}

/** Stores one choice (inserted, or replacing the one there). */
export async function upsertPreference(
  em: EntityManager,
  p: { tenantId: string; userId: string; category: Category; channel: Channel; frequency: Frequency },
): Promise<void> {
  await em.execute(
    `insert into preferences (tenant_id, user_id, category, channel, frequency) values (?, ?, ?, ?, ?)
           on conflict (tenant_id, user_id, category, channel) do update set frequency = excluded.frequency, updated_at = now()`,
    [p.tenantId, p.userId, p.category, p.channel, p.frequency],
  );
}

/** The user's items of `category` still waiting for a digest. */
const pending = `tenant_id = ? and user_id = ? and digest_id is null
    and notification_id in (select id from notifications where tenant_id = ? and user_id = ? and category = ?)`;

/** Moves the user's pending digest items of `category` to the digest of `frequency`. */
export async function retargetPendingItems(em: EntityManager, tenantId: string, userId: string, category: Category, frequency: Frequency): Promise<void> {
  await em.execute(`update digest_items set frequency = ? where ${pending}`, [frequency, tenantId, userId, tenantId, userId, category]);
}

/** Takes the user's pending digest items of `category` out of email (they stay in the inbox). */
export async function dropPendingItems(em: EntityManager, tenantId: string, userId: string, category: Category): Promise<void> {
  await em.execute(`delete from digest_items where ${pending}`, [tenantId, userId, tenantId, userId, category]);
}
