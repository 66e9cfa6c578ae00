// DESIGN rule 4. The key is claimed with a transaction-scoped advisory lock (a replay
// while the first is in flight gets CONFLICT at once instead of waiting), the stored
// result is looked up, and the new result is stored in the same transaction as the
// change it describes: a rolled-back change leaves no record, so it can be retried.
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

/**
 * Lets `fn` store its expected result before its critical section (e.g. before taking a hot
 * row lock), so the lock is not held across the store: when `fn` then returns the same
 * result, nothing more is written; when it returns another, the record is corrected.
 */
export interface IdempotencyClaim<T> {
  storeAhead(value: T): Promise<void>;
}

/**
 * Runs `fn` once per (tenant, scope, key). `fn`'s result must be JSON; a replay with the
 * same input returns it as stored.
 */
export async function idempotent<T>(em: EntityManager, opts: IdempotencyOptions, fn: (claim: IdempotencyClaim<T>) => Promise<T>): Promise<T> {
  if (!KEY_PATTERN.test(opts.key)) {
    throw badInput('idempotencyKey must be 8 to 128 characters of letters, digits, ".", "_", "~" or "-"', 'idempotencyKey');
  }
  // Qualified, so it works whatever the connection's search_path (a superuser's in tests).
  const table = `"${String(em.config.get('schema') ?? 'public')}".idempotency_keys`;
  const lockKey = `${opts.tenantId ?? '-'}:${opts.scope}:${opts.key}`;
  // The key's lock and the lookup of its record in one statement. Its snapshot is taken
  // before the lock, so a request with the same key that commits in between is not seen
  // here; its record then makes this request's store fail with CONFLICT (below), so a
  // key's change still happens at most once.
  const [claimed] = await em.execute<{ ok: boolean; fingerprint: string | null; response: { value: T } | null }[]>(
    `select l.ok, k.fingerprint, k.response
       from (select pg_try_advisory_xact_lock(hashtextextended(?, 0)) as ok) l
       left join lateral (
         select fingerprint, response from ${table}
          where tenant_id is not distinct from ? and scope = ? and key = ? and expires_at > now()
       ) k on l.ok`,
    [lockKey, opts.tenantId, opts.scope, opts.key],
  );
  if (!claimed?.ok) throw conflict('A request with this idempotencyKey is still being processed; retry when it has finished');
  const fp = fingerprint(opts.input);
  const existing = claimed.fingerprint === null ? null : (claimed as { fingerprint: string; response: { value: T } });
  if (existing) {
    if (existing.fingerprint !== fp) {
      throw new AppError('BAD_USER_INPUT', 'This idempotencyKey was already used with different input; use a new key for a new request', {
        field: 'idempotencyKey',
        reason: 'IDEMPOTENCY_KEY_REUSED',
      });
    }
    return (opts.protect ? opts.protect.open(existing.response.value, opts.input) : existing.response.value) as T;
  }
  // One statement: a new record, or the expired one of an earlier use of the key replaced, or
  // this request's own stored-ahead one (written in this transaction: its created_at is this
  // transaction's now()). A live record of another request cannot be
  // here (the key's lock is held and the lookup found none), but if one were, nothing is
  // overwritten and the request fails with CONFLICT rather than running twice.
  let stored: string | undefined;
  const store = async (value: T) => {
    const response = JSON.stringify({ value: opts.protect ? opts.protect.seal(value, opts.input) : (value ?? null) });
    const written = await em.execute<{ ok: number }[]>(
      `insert into ${table} as k (tenant_id, scope, key, fingerprint, response, expires_at)
       values (?, ?, ?, ?, ?::jsonb, now() + make_interval(hours => ?))
       on conflict ((coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), scope, key) do update
         set fingerprint = excluded.fingerprint, response = excluded.response, created_at = now(), expires_at = excluded.expires_at
         where k.expires_at <= now() or k.created_at = now()
       returning 1 as ok`,
      [opts.tenantId, opts.scope, opts.key, fp, response, opts.ttlHours ?? IDEMPOTENCY_TTL_HOURS],
    );
    if (!written.length) throw conflict('A request with this idempotencyKey has just finished; retry to get its result');
    stored = canonicalJson(value ?? null);
  };
  const value = await fn({ storeAhead: store });
  if (stored === undefined || stored !== canonicalJson(value ?? null)) await store(value);
  return value;
}
