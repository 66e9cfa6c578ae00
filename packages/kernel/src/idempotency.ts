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
 * Runs `fn` once per (tenant, scope, key). `fn`'s result must be JSON; a replay with the
 * same input returns it as stored.
 */
export async function idempotent<T>(em: EntityManager, opts: IdempotencyOptions, fn: () => Promise<T>): Promise<T> {
  if (!KEY_PATTERN.test(opts.key)) {
    throw badInput('idempotencyKey must be 8 to 128 characters of letters, digits, ".", "_", "~" or "-"', 'idempotencyKey');
  }
  // Qualified, so it works whatever the connection's search_path (a superuser's in tests).
  const table = `"${String(em.config.get('schema') ?? 'public')}".idempotency_keys`;
  const lockKey = `${opts.tenantId ?? '-'}:${opts.scope}:${opts.key}`;
  const [lock] = await em.execute<{ ok: boolean }[]>('select pg_try_advisory_xact_lock(hashtextextended(?, 0)) as ok', [lockKey]);
  if (!lock?.ok) throw conflict('A request with this idempotencyKey is still being processed; retry when it has finished');
  const fp = fingerprint(opts.input);
  const [existing] = await em.execute<{ fingerprint: string; response: { value: T } }[]>(
    `select fingerprint, response from ${table}
      where tenant_id is not distinct from ? and scope = ? and key = ? and expires_at > now()`,
    [opts.tenantId, opts.scope, opts.key],
  );
  if (existing) {
    if (existing.fingerprint !== fp) {
      throw new AppError('BAD_USER_INPUT', 'This idempotencyKey was already used with different input; use a new key for a new request', {
        field: 'idempotencyKey',
        reason: 'IDEMPOTENCY_KEY_REUSED',
      });
    }
    return (opts.protect ? opts.protect.open(existing.response.value, opts.input) : existing.response.value) as T;
  }
  const value = await fn();
  await em.execute(
    `delete from ${table} where tenant_id is not distinct from ? and scope = ? and key = ?`,
    [opts.tenantId, opts.scope, opts.key],
  );
  await em.execute(
    `insert into ${table} (tenant_id, scope, key, fingerprint, response, expires_at)
     values (?, ?, ?, ?, ?::jsonb, now() + make_interval(hours => ?))`,
    [opts.tenantId, opts.scope, opts.key, fp, JSON.stringify({ value: opts.protect ? opts.protect.seal(value, opts.input) : (value ?? null) }), opts.ttlHours ?? IDEMPOTENCY_TTL_HOURS],
  );
  return value;
}
