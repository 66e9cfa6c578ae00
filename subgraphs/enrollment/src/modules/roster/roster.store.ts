// The roster module's raw SQL: storing an import and its rows (importRoster), and the
// import-roster job's statements (start or resume, the next PENDING rows, each batch's outcomes
// and counters, completion and failure). Every statement on a tenant table names
// tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. unfinished_roster_imports has
// no tenant_id (it lists every organization's unfinished imports for the worker's start), so
// its statements name the import (and its organization) instead. Each runs in the caller's
// transaction.
import type { EntityManager } from '@mikro-orm/postgresql';
import { sqlArray as arr } from '@lectern/kernel/orm';

export type RowKind = 'EMAIL' | 'USER_ID';

/** An import as the job starts (or resumes) it. */
export interface StartedImport {
  cohortId: string;
  status: string;
  /** The status before this start (FAILED: resumed by the replay of its dead letter). */
  was: string;
  createdBy: string | null;
  total: number;
  processed: number;
}

/** A row of the import still to process. */
export interface PendingRow {
  rowNumber: number;
  identifier: string;
  kind: RowKind;
}

/** A row of the import as importRoster stores it: PENDING, or REJECTED with `reason`. */
export interface NewImportRow {
  rowNumber: number;
  identifier: string;
  kind: RowKind;
  reason: string | null;
}

/** The outcomes of a batch, one entry per row (same order in every array). */
export interface RowOutcomes {
  rowNumbers: number[];
  statuses: string[];
  reasons: (string | null)[];
  enrollmentIds: (string | null)[];
}

/** What a batch adds to the import's counters. */
export interface CounterDeltas {
  processed: number;
  enrolled: number;
  alreadyEnrolled: number;
  rejected: number;
}

const optStr = (v: unknown) => (v == null ? null : String(v));

/** Stores a QUEUED import of `total` rows, `rejected` of them already REJECTED (and so processed). */
export async function insertImport(
  em: EntityManager,
  tenantId: string,
  i: { id: string; offeringId: string; cohortId: string; total: number; rejected: number; createdBy: string | null },
): Promise<void> {
  await em.execute(
    `insert into roster_imports (id, tenant_id, offering_id, cohort_id, status, total, processed, rejected, created_by) values (?, ?, ?, ?, 'QUEUED', ?, ?, ?, ?)`,
    [i.id, tenantId, i.offeringId, i.cohortId, i.total, i.rejected, i.rejected, i.createdBy],
  );
}

/** Stores the import's rows: PENDING, or REJECTED when they have a reason. */
export async function insertImportRows(em: EntityManager, tenantId: string, importId: string, rows: readonly NewImportRow[]): Promise<void> {
  const nums = rows.map((r) => r.rowNumber);
  const idents = rows.map((r) => r.identifier);
  const kinds = rows.map((r) => r.kind);
  const reasons = rows.map((r) => r.reason);
  await em.execute(
    `insert into roster_import_rows (tenant_id, import_id, row_number, identifier, kind, status, reason)
         select ?, ?, u.n, u.identifier, u.kind, case when u.reason is null then 'PENDING' else 'REJECTED' end, u.reason
           from unnest(${arr(nums, 'int')}, ${arr(idents, 'text')}, ${arr(kinds, 'text')}, ${arr(reasons, 'text')}) as u(n, identifier, kind, reason)`,
    [tenantId, importId, ...nums, ...idents, ...kinds, ...reasons],
  );
}

/** Lists a new import as unfinished (the worker re-enqueues those at its start). */
export async function insertUnfinished(em: EntityManager, tenantId: string, importId: string): Promise<void> {
  await em.execute(`insert into unfinished_roster_imports (import_id, organization_id) values (?, ?)`, [importId, tenantId]);
}

/** Lists a resumed import as unfinished again (it may still be listed). */
export async function reinsertUnfinished(em: EntityManager, tenantId: string, importId: string): Promise<void> {
  await em.execute(`insert into unfinished_roster_imports (import_id, organization_id) values (?, ?) on conflict do nothing`, [importId, tenantId]);
}

/** The import is finished (COMPLETED or FAILED for good): no longer unfinished. */
export async function deleteUnfinished(em: EntityManager, importId: string): Promise<void> {
  await em.execute(`delete from unfinished_roster_imports where import_id = ?`, [importId]);
}

/**
 * Starts the import, or resumes it: RUNNING (failure and finished_at cleared) unless it is
 * COMPLETED already; null when it is not visible (yet).
 */
export async function startImport(em: EntityManager, tenantId: string, importId: string): Promise<StartedImport | null> {
  const [r] = await em.execute<Record<'cohort_id' | 'status' | 'was' | 'created_by' | 'total' | 'processed', unknown>[]>(
    `update roster_imports i set status = case when i.status = 'COMPLETED' then i.status else 'RUNNING' end,
              failure = case when i.status = 'COMPLETED' then i.failure end, finished_at = case when i.status = 'COMPLETED' then i.finished_at end, updated_at = now()
         from roster_imports was where was.tenant_id = i.tenant_id and was.id = i.id and i.tenant_id = ? and i.id = ?
       returning i.cohort_id, i.status, was.status as was, i.created_by, i.total, i.processed`,
    [tenantId, importId],
  );
  if (!r) return null;
  return {
    cohortId: String(r.cohort_id),
    status: String(r.status),
    was: String(r.was),
    createdBy: optStr(r.created_by),
    total: Number(r.total),
    processed: Number(r.processed),
  };
}

/** The next `limit` PENDING rows of the import, in row order. */
export async function pendingRows(em: EntityManager, tenantId: string, importId: string, limit: number): Promise<PendingRow[]> {
  const rows = await em.execute<Record<'row_number' | 'identifier' | 'kind', unknown>[]>(
    `select row_number, identifier, kind from roster_import_rows where tenant_id = ? and import_id = ? and status = 'PENDING' order by row_number limit ?`,
    [tenantId, importId, limit],
  );
  return rows.map((r) => ({ rowNumber: Number(r.row_number), identifier: String(r.identifier), kind: String(r.kind) as RowKind }));
}

/** Records the outcome of each row of a batch (rows still PENDING only). */
export async function recordRowOutcomes(em: EntityManager, tenantId: string, importId: string, o: RowOutcomes): Promise<void> {
  await em.execute(
    `update roster_import_rows r set status = u.status, reason = u.reason, enrollment_id = u.enrollment_id
           from unnest(${arr(o.rowNumbers, 'int')}, ${arr(o.statuses, 'text')}, ${arr(o.reasons, 'text')}, ${arr(o.enrollmentIds, 'uuid')}) as u(n, status, reason, enrollment_id)
          where r.tenant_id = ? and r.import_id = ? and r.row_number = u.n and r.status = 'PENDING'`,
    [...o.rowNumbers, ...o.statuses, ...o.reasons, ...o.enrollmentIds, tenantId, importId],
  );
}

/** Adds a batch to the import's counters; returns the rows processed so far (undefined when the import is gone). */
export async function addToCounters(em: EntityManager, tenantId: string, importId: string, d: CounterDeltas): Promise<{ processed: number } | undefined> {
  const [counters] = await em.execute<Record<'processed', unknown>[]>(
    `update roster_imports set processed = processed + ?, enrolled = enrolled + ?, already_enrolled = already_enrolled + ?, rejected = rejected + ?, updated_at = now()
          where tenant_id = ? and id = ? returning processed`,
    [d.processed, d.enrolled, d.alreadyEnrolled, d.rejected, tenantId, importId],
  );
  return counters ? { processed: Number(counters.processed) } : undefined;
}

/** Marks the import COMPLETED. */
export async function markCompleted(em: EntityManager, tenantId: string, importId: string): Promise<void> {
  await em.execute(`update roster_imports set status = 'COMPLETED', finished_at = now(), updated_at = now() where tenant_id = ? and id = ?`, [tenantId, importId]);
}

/** Marks the import FAILED (unless COMPLETED) after `attempts` failed attempts, with a reason people can read. */
export async function markFailed(em: EntityManager, tenantId: string, importId: string, attempts: number): Promise<void> {
  await em.execute(
    `update roster_imports set status = 'FAILED', finished_at = now(), updated_at = now(),
            failure = 'The import stopped after ' || ? || ' failed attempts; ' || (total - processed) || ' rows were not processed yet. It resumes from them when an operator replays it.'
      where tenant_id = ? and id = ? and status <> 'COMPLETED'`,
    [attempts, tenantId, importId],
  );
}
