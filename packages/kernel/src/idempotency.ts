// Idempotent mutations (DESIGN rule 4): a change runs at most once per (tenant, scope, key),
// and a replay with the same input gets the first result back. Two steps, both inside the
// change's own transaction (uow.write):
//
//   claim()     takes the key's transaction-scoped advisory lock without waiting, then looks
//               up its record. Lock held by another transaction: that request is in flight,
//               CONFLICT at once. A live record: its input must match (else BAD_USER_INPUT,
//               IDEMPOTENCY_KEY_REUSED) and its stored result is the answer; nothing runs.
//   complete()  stores the result as the key's record, in the same transaction as the change
//               it describes: a change that rolls back leaves no record and can be retried.
//               The conflict rule is the table's unique key: an expired record is replaced,
//               a live one never. If a record committed between claim's lock and its lookup
//               (another request finished just then), complete() finds it live, stores
//               nothing and throws CONFLICT: the transaction, and so the change, rolls back.
//
// `idempotent(em, opts, fn)` is the two steps around `fn`.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
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

/** Step 1: the key's lock and its record (see the header). */
export async function claim<T>(em: EntityManager, opts: IdempotencyOptions): Promise<Claim<T>> {
  if (!KEY_PATTERN.test(opts.key)) {
    throw badInput('idempotencyKey must be 8 to 128 characters of letters, digits, ".", "_", "~" or "-"', 'idempotencyKey');
  }
  // Qualified, so it works whatever the connection's search_path (a superuser's in tests).
  const table = `"${String(em.config.get('schema') ?? 'public')}".idempotency_keys`;
  const [row] = await em.execute<{ locked: boolean; fingerprint: string | null; response: { value: unknown } | null }[]>(
    `select l.locked, k.fingerprint, k.response
       from (select pg_try_advisory_xact_lock(hashtextextended(?, 0)) as locked) l
       left join ${table} k
         on l.locked and k.tenant_id is not distinct from ? and k.scope = ? and k.key = ? and k.expires_at > now()`,
    [`${opts.tenantId ?? '-'}:${opts.scope}:${opts.key}`, opts.tenantId, opts.scope, opts.key],
  );
  if (!row?.locked) throw conflict('A request with this idempotencyKey is still being processed; retry when it has finished');
  const fp = fingerprint(opts.input);
  if (row.fingerprint !== null) {
    if (row.fingerprint !== fp) {
      throw new AppError('BAD_USER_INPUT', 'This idempotencyKey was already used with different input; use a new key for a new request', {
        field: 'idempotencyKey',
        reason: 'IDEMPOTENCY_KEY_REUSED',
      });
    }
    const stored = row.response!.value;
    return { replay: true, value: (opts.protect ? opts.protect.open(stored, opts.input) : stored) as T };
  }
  return {
    replay: false,
    // Step 2: insert the record, or replace an expired one; a live one is left alone (no row returned).
    async complete(value: T) {
      const response = JSON.stringify({ value: opts.protect ? opts.protect.seal(value, opts.input) : (value ?? null) });
      const stored = await em.execute<{ key: string }[]>(
        `insert into ${table} as k (tenant_id, scope, key, fingerprint, response, expires_at)
         values (?, ?, ?, ?, ?::jsonb, now() + make_interval(hours => ?))
         on conflict ((coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), scope, key) do update
           set fingerprint = excluded.fingerprint, response = excluded.response, created_at = now(), expires_at = excluded.expires_at
           where k.expires_at <= now()
         returning k.key`,
        [opts.tenantId, opts.scope, opts.key, fp, response, opts.ttlHours ?? IDEMPOTENCY_TTL_HOURS],
      );
      if (!stored.length) throw conflict('A request with this idempotencyKey has just finished; retry to get its result');
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
