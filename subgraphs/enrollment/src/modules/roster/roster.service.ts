// importRoster: parses the rows (or CSV), stores the import and its rows in one transaction
// (malformed and duplicate rows are REJECTED at once) and hands the rest to the
// import-roster job. Returns the import at once.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { badInput, forbidden, idOf, inputId, notFound, type Logger } from '@lectern/kernel';
import { enqueueOrLeaveToSweep } from '@lectern/kernel/consumers';
import { adminWrites, requireReader, teaches } from '../../access.ts';
import type { MutationResult } from '../../errors.ts';
import { runMutation, type Idempotent, type ServiceDeps } from '../enrollment/mutation.ts';
import { loadCohort } from '../enrollment/enrollment.store.ts';
import { importRosterJob } from './import-roster.job.ts';
import { insertImport, insertImportRows, insertUnfinished } from './roster.store.ts';

export interface RosterRowInput {
  email?: string | null;
  userId?: string | null;
}
export interface ImportRosterInput extends Idempotent {
  offeringId: string;
  cohortId: string;
  rows?: RosterRowInput[] | null;
  csv?: string | null;
}

export const MAX_ROSTER_ROWS = 20_000;

const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

export interface ParsedRow {
  rowNumber: number;
  identifier: string;
  kind: 'EMAIL' | 'USER_ID';
  /** Set when the row is rejected before any lookup. */
  reason: string | null;
}

/** One identifier a row; rows are numbered from 1 (for CSV: the line after the header is 1). */
export function parseRoster(input: { rows?: RosterRowInput[] | null; csv?: string | null }): ParsedRow[] {
  if ((input.rows == null) === (input.csv == null)) throw badInput('Give either rows or csv', 'rows');
  let raw: { email: string | null; userId: string | null }[];
  if (input.rows != null) {
    raw = input.rows.map((r) => ({ email: r.email?.trim() || null, userId: r.userId?.trim() || null }));
  } else {
    const lines = input.csv!.split(/\r?\n/);
    const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase().replace(/^"|"$/g, ''));
    const emailCol = header.indexOf('email');
    const userCol = header.indexOf('user_id');
    if (emailCol < 0 && userCol < 0) throw badInput('The CSV header must name an email or user_id column', 'csv');
    while (lines.length && lines.at(-1)!.trim() === '') lines.pop();
    raw = lines.map((line) => {
      const cells = line.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
      return { email: emailCol >= 0 ? cells[emailCol] || null : null, userId: userCol >= 0 ? cells[userCol] || null : null };
    });
  }
  if (raw.length === 0) throw badInput('The roster is empty', 'rows');
  if (raw.length > MAX_ROSTER_ROWS) throw badInput(`At most ${MAX_ROSTER_ROWS} rows an import`, 'rows');
  const seen = new Map<string, number>();
  return raw.map((r, i) => {
    const rowNumber = i + 1;
    const kind = r.userId ? 'USER_ID' : 'EMAIL';
    // A user id is a User global id, as the API returns them (kept as sent: ids are case-sensitive).
    const userUuid = r.userId ? idOf(r.userId, 'User') : null;
    const identifier = r.userId ?? (r.email ?? '').toLowerCase();
    let reason: string | null = null;
    if (!r.userId && !r.email) reason = 'no email or user id';
    else if (r.userId && r.email) reason = 'give either an email or a user id';
    else if (kind === 'USER_ID' && !userUuid) reason = 'malformed user id';
    else if (kind === 'EMAIL' && (identifier.length > 320 || !EMAIL.test(identifier))) reason = 'malformed email';
    else if (seen.has(identifier)) reason = `duplicate of row ${seen.get(identifier)}`;
    if (!reason) seen.set(identifier, rowNumber);
    return { rowNumber, identifier: identifier.slice(0, 400) || '(empty)', kind, reason };
  });
}

export class RosterService {
  #deps: ServiceDeps & { queue: Queue; log: Logger };
  constructor(deps: ServiceDeps & { queue: Queue; log: Logger }) {
    this.#deps = deps;
  }

  async importRoster(input: ImportRosterInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireReader(actor);
    if (!adminWrites(actor) && !actor.roles.includes('INSTRUCTOR')) throw forbidden('Only organization admins and the cohort\'s instructors can import a roster');
    const offeringId = inputId(input.offeringId, 'Offering', 'offeringId');
    const cohortId = inputId(input.cohortId, 'Cohort', 'cohortId');
    const rows = parseRoster(input);
    const result = await runMutation({ ...this.#deps, actor }, 'importRoster', input, async (em, tenantId) => {
      const cohort = await loadCohort(em, tenantId, cohortId);
      if (!cohort) throw notFound('Cohort');
      if (!adminWrites(actor) && !teaches(actor, cohort)) throw notFound('Cohort');
      if (offeringId !== cohort.offeringId) throw badInput('The cohort is not a cohort of this offering', 'cohortId');
      const id = randomUUID();
      const rejected = rows.filter((r) => r.reason).length;
      await insertImport(em, tenantId, { id, offeringId: cohort.offeringId, cohortId: cohort.cohortId, total: rows.length, rejected, createdBy: actor.userId });
      await insertImportRows(em, tenantId, id, rows);
      await insertUnfinished(em, tenantId, id);
      return { importId: id, errors: [] };
    });
    if (result.importId) {
      // The import is accepted once committed: PostgreSQL holds it (unfinished_roster_imports).
      // Enqueueing is only the fast path, bounded so a Redis outage never holds the request; a
      // replay enqueues again (same job id, so BullMQ keeps one). Whatever Redis lost or never
      // got, the worker's sweep re-enqueues within seconds of Redis answering (worker.ts).
      const importId = result.importId;
      await enqueueOrLeaveToSweep(this.#deps.queue, importRosterJob.def, { tenantId: actor.tenantId, importId }, { jobId: importId }, this.#deps.log, { importId });
    }
    return result;
  }
}
