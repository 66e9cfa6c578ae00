// The membership module's raw SQL: the lock that serialises an organization's role changes.
// It touches no table (an advisory lock keyed by the organization), so it names no
// tenant_id = ?; the key names the tenant. Runs in the caller's transaction (the write's
// EntityManager).
import type { EntityManager } from '@mikro-orm/postgresql';

/** Serialises role changes of the organization for the rest of the transaction. */
export async function lockAdmins(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`admins:${tenantId}`]);
}
