// DESIGN rule 4. The key is claimed with a transaction-scoped advisory lock (a replay
// while the first is in flight gets CONFLICT at once instead of waiting), the stored
// result is looked up, and the new result is stored in the same transaction as the
// change it describes: a rolled-back change leaves no record, so it can be retried.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, badInput, conflict } from './errors.ts';
import { executeGuarded } from './orm.ts';

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
 * Lets `fn` store its expected result inside its own critical statement instead of before or
 * after it: `storeStatement(value)` is SQL for a CTE member (`stored as (…)`) that the
 * change can depend on, so the result is stored in the same round trip as the change it
 * describes. Once that statement has succeeded, `fn` calls `done()`: when it then returns
 * the same value nothing more is written; when it returns another (or never calls done,
 * e.g. its statement failed), the record is stored or corrected as usual.
 */
export interface IdempotencyClaim<T> {
  storeStatement(value: T): { sql: string; params: unknown[]; done(): void };
}

/** The store refused to replace a live record of another request (see storeSql). */
function refused(err: unknown): boolean {
  const e = err as { code?: string; column?: string; table?: string };
  return e.code === '23502' && e.column === 'fingerprint' && e.table === 'idempotency_keys';
}

/**
 * Runs `fn` once per (tenant, scope, key). `fn`'s result must be JSON; a replay with the
 * same input returns it as stored.
 *
 * With `commitWithStore`, a store after `fn` is the transaction's last statement and carries
 * its COMMIT (executeGuarded): nothing may write after `idempotent` returns.
 */
export async function idempotent<T>(
  em: EntityManager,
  opts: IdempotencyOptions & { commitWithStore?: boolean },
  fn: (claim: IdempotencyClaim<T>) => Promise<T>,
): Promise<T> {
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
  // this request's own stored one (written in this transaction: its created_at is this
  // transaction's now()). A live record of another request cannot be here (the key's lock is
  // held and the lookup found none) unless it committed in the lookup's snapshot gap; then
  // the update sets fingerprint to NULL and its NOT NULL constraint fails the statement (and
  // whatever change it is part of): CONFLICT, never a change made twice, even when the store
  // carries the transaction's COMMIT.
  const storeSql = (value: T) => ({
    sql: `insert into ${table} as k (tenant_id, scope, key, fingerprint, response, expires_at)
       values (?, ?, ?, ?, ?::jsonb, now() + make_interval(hours => ?))
       on conflict ((coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), scope, key) do update
         set fingerprint = case when k.expires_at <= now() or k.created_at = now() then excluded.fingerprint end,
             response = excluded.response, created_at = now(), expires_at = excluded.expires_at`,
    params: [opts.tenantId, opts.scope, opts.key, fp, JSON.stringify({ value: opts.protect ? opts.protect.seal(value, opts.input) : (value ?? null) }), opts.ttlHours ?? IDEMPOTENCY_TTL_HOURS] as unknown[],
  });
  let stored: string | undefined;
  const claim: IdempotencyClaim<T> = {
    storeStatement: (value) => ({ ...storeSql(value), done: () => void (stored = canonicalJson(value ?? null)) }),
  };
  try {
    const value = await fn(claim);
    if (stored === undefined || stored !== canonicalJson(value ?? null)) {
      const { sql, params } = storeSql(value);
      if (opts.commitWithStore) await executeGuarded(em, sql, params, { commit: true });
      else await em.execute(sql, params);
    }
    return value;
  } catch (err) {
    if (refused(err)) throw conflict('A request with this idempotencyKey has just finished; retry to get its result');
    throw err;
  }
}
