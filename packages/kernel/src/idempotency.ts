// Idempotent mutations (DESIGN rule 4): a change runs at most once per (tenant, scope, key),
// and a replay with the same input gets the first result back. Two steps, both inside the
// change's own transaction (uow.write), each one call of a kernel SQL function (db.ts
// 0002-kernel-functions), so a subgraph's own hot-path function can run the same rule:
//
//   claim()     idempotency_claim: the key's transaction-scoped advisory lock, taken without
//               waiting, then its live record. Lock held by another transaction: that request
//               is in flight, CONFLICT at once. A record: its input must match (else
//               BAD_USER_INPUT, IDEMPOTENCY_KEY_REUSED) and its stored result is the answer.
//   complete()  idempotency_complete: stores the result as the key's record, in the same
//               transaction as the change it describes: a change that rolls back leaves no
//               record and can be retried. An expired record is replaced, a live one never:
//               if one committed between claim's lock and its lookup (another request finished
//               just then), the function raises IDEMPOTENCY_CONFLICT and the transaction, so
//               the change, rolls back; the caller sees CONFLICT.
//
// `idempotent(em, opts, fn)` is the two steps around `fn`.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { IDEMPOTENCY_CONFLICT } from './db.ts';
import { AppError, badInput, conflict } from './errors.ts';

export const IDEMPOTENCY_TTL_HOURS = 24;
const KEY_PATTERN = /^[A-Za-z0-9._~-]{8,128}$/;

/** Stable JSON: object keys sorted, so equal inputs fingerprint equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const fingerprint = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex');

export interface IdempotencyOptions {
  tenantId: string | null;
  /** The operation and the caller, e.g. `createCourse:<userId>`: keys are private to both. */
  scope: string;
  key: string;
  input: unknown;
  ttlHours?: number;
  /**
   * Encrypts the stored result (credentials a replay must return: tokens, API key secrets).
   * `open` gets what `seal` returned.
   */
  protect?: { seal(value: unknown, input: unknown): unknown; open(stored: unknown, input: unknown): unknown };
}

export type Claim<T> = { replay: true; value: T } | { replay: false; complete(value: T): Promise<void> };

/** What idempotency_claim returned for a key. */
export interface ClaimRow {
  locked: boolean;
  fingerprint: string | null;
  response: { value: unknown } | null;
}

/** Checks the key's shape before anything runs. */
export function checkIdempotencyKey(key: string): void {
  if (!KEY_PATTERN.test(key)) {
    throw badInput('idempotencyKey must be 8 to 128 characters of letters, digits, ".", "_", "~" or "-"', 'idempotencyKey');
  }
}

/** A claim's answer: the stored result of a replay, null for a new request; in flight or reused throw. */
export function replayOf<T>(row: ClaimRow | undefined, fp: string, opts: Pick<IdempotencyOptions, 'protect' | 'input'>): { value: T } | null {
  if (!row?.locked) throw conflict('A request with this idempotencyKey is still being processed; retry when it has finished');
  if (row.fingerprint === null) return null;
  if (row.fingerprint !== fp) {
    throw new AppError('BAD_USER_INPUT', 'This idempotencyKey was already used with different input; use a new key for a new request', {
      field: 'idempotencyKey',
      reason: 'IDEMPOTENCY_KEY_REUSED',
    });
  }
  const stored = row.response!.value;
  return { value: (opts.protect ? opts.protect.open(stored, opts.input) : stored) as T };
}

/** idempotency_complete refused: another request's live record (see the header). */
export const completeRefused = (err: unknown) => (err as { code?: string }).code === IDEMPOTENCY_CONFLICT;
export const completeConflict = () => conflict('A request with this idempotencyKey has just finished; retry to get its result');

/** Step 1: the key's lock and its record (see the header). */
export async function claim<T>(em: EntityManager, opts: IdempotencyOptions): Promise<Claim<T>> {
  checkIdempotencyKey(opts.key);
  const schema = String(em.config.get('schema') ?? 'public');
  const [row] = await em.execute<ClaimRow[]>(`select * from "${schema}".idempotency_claim(?, ?, ?)`, [opts.tenantId, opts.scope, opts.key]);
  const fp = fingerprint(opts.input);
  const replay = replayOf<T>(row, fp, opts);
  if (replay) return { replay: true, value: replay.value };
  return {
    replay: false,
    // Step 2: the record, in the change's transaction.
    async complete(value: T) {
      const response = JSON.stringify({ value: opts.protect ? opts.protect.seal(value, opts.input) : (value ?? null) });
      try {
        await em.execute(`select "${schema}".idempotency_complete(?, ?, ?, ?, ?::jsonb, ?)`, [opts.tenantId, opts.scope, opts.key, fp, response, opts.ttlHours ?? IDEMPOTENCY_TTL_HOURS]);
      } catch (err) {
        if (completeRefused(err)) throw completeConflict();
        throw err;
      }
    },
  };
}

/**
 * Runs `fn` once per (tenant, scope, key) inside the caller's transaction: claim, `fn`,
 * complete. `fn`'s result must be JSON; a replay with the same input returns it as stored.
 */
export async function idempotent<T>(em: EntityManager, opts: IdempotencyOptions, fn: () => Promise<T>): Promise<T> {
  const claimed = await claim<T>(em, opts);
  if (claimed.replay) return claimed.value;
  const value = await fn();
  await claimed.complete(value);
  return value;
}
