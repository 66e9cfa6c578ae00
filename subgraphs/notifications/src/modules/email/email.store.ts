// The email log's raw SQL: claiming a dedupe key, releasing it, completing the row once sent.
// Every statement names tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. Each
// runs in the caller's unit of work, so the claim commits (or rolls back) with the send.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EmailKind } from './email.entity.ts';

/** Claims the dedupe key with a new log row `id`; false when the organization has used the key already. */
export async function claimEmail(
  em: EntityManager,
  e: { id: string; tenantId: string; userId: string; kind: EmailKind; dedupeKey: string },
): Promise<boolean> {
  const claimed = await em.execute<Record<'id', unknown>[]>(
    `insert into emails_sent (id, tenant_id, user_id, kind, dedupe_key, subject)
     values (?, ?, ?, ?, ?, '')
     on conflict (tenant_id, dedupe_key) do nothing
     returning id`,
    [e.id, e.tenantId, e.userId, e.kind, e.dedupeKey],
  );
  return claimed.length > 0;
}

/** Releases a claim (nothing was sent after all). */
export async function releaseEmail(em: EntityManager, tenantId: string, id: string): Promise<void> {
  await em.execute('delete from emails_sent where tenant_id = ? and id = ?', [tenantId, id]);
}

/** Completes the log row of a sent message (`subject` as given: the caller trims it). */
export async function markEmailSent(em: EntityManager, tenantId: string, id: string, subject: string, messageId: string): Promise<void> {
  await em.execute('update emails_sent set subject = ?, message_id = ?, sent_at = now() where tenant_id = ? and id = ?', [subject, messageId, tenantId, id]);
}
