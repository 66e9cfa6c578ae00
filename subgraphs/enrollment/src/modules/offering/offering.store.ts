// The offering module's raw SQL: updateCohort's changes of a cohort row the caller has locked
// (lockCohorts). Every statement names tenant_id = ? itself (DESIGN rule 2); RLS is the second
// layer. Each runs in the caller's transaction.
import type { EntityManager } from '@mikro-orm/postgresql';

/** Renames the cohort. */
export async function renameCohort(em: EntityManager, tenantId: string, cohortId: string, name: string): Promise<void> {
  await em.execute(`update cohorts set name = ?, updated_at = now() where tenant_id = ? and id = ?`, [name, tenantId, cohortId]);
}

/** Sets the cohort's capacity (the CHECK on cohorts keeps it at or above the seats taken). */
export async function setCohortCapacity(em: EntityManager, tenantId: string, cohortId: string, capacity: number): Promise<void> {
  await em.execute(`update cohorts set capacity = ?, updated_at = now() where tenant_id = ? and id = ?`, [capacity, tenantId, cohortId]);
}
