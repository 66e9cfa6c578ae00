// The completion policy's raw SQL: reading a course's stored rules under lock, and storing them
// whole. Every statement names tenant_id = ? itself (DESIGN rule 2); RLS is the second layer.
// Both run in the caller's write transaction.
import type { EntityManager } from '@mikro-orm/postgresql';

/** The course's stored rules (jsonb, unparsed), locked for the transaction; undefined without a row. */
export async function lockPolicyRules(em: EntityManager, tenantId: string, courseId: string): Promise<{ rules: unknown } | undefined> {
  const [row] = await em.execute<Record<'rules', unknown>[]>('select rules from completion_policies where tenant_id = ? and course_id = ? for update', [tenantId, courseId]);
  return row ? { rules: row.rules } : undefined;
}

/** Stores the course's whole policy (`rules`, serialized to jsonb). */
export async function upsertPolicy(em: EntityManager, tenantId: string, courseId: string, rules: unknown, updatedBy: string | null): Promise<void> {
  await em.execute(
    `insert into completion_policies (tenant_id, course_id, rules, updated_by) values (?, ?, ?::jsonb, ?)
           on conflict (tenant_id, course_id) do update set rules = excluded.rules, updated_by = excluded.updated_by, updated_at = now()`,
    [tenantId, courseId, JSON.stringify(rules), updatedBy],
  );
}
