// The baseline's whole database layer: a pg pool connected as the subgraph's runtime role
// (NOBYPASSRLS, forced RLS on every tenant table), and one read as a single round trip:
// `begin; select set_config('app.tenant_id', …, true); <select>; commit` sent as one
// multi-statement simple query. Values are inlined with pg's escapeLiteral (the simple
// protocol takes no parameters); callers pass only validated uuids and integers.
import pg from 'pg';
import { GraphQLError } from 'graphql';
import { baselineEnv } from './env.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
export const literal = (v: string) => pg.escapeLiteral(v);

export function createPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: baselineEnv.DATABASE_URL, max: baselineEnv.POOL_MAX });
  pool.on('error', () => {}); // an idle client's connection dropped: the pool replaces it
  return pool;
}

/** Rows of `select` run in a transaction scoped to `tenantId` (one round trip). */
export async function tenantRows<R>(pool: pg.Pool, tenantId: string, select: string): Promise<R[]> {
  if (!isUuid(tenantId)) throw new Error('tenant id is not a uuid');
  // pool.query destroys the client on error, so an aborted transaction never goes back to the pool.
  const results = (await pool.query(`begin; select set_config('app.tenant_id', ${literal(tenantId)}, true); ${select}; commit`)) as unknown as pg.QueryResult[];
  return results[2]!.rows as R[];
}

/** The tenant a request acts for: the `x-tenant-id` header (the baseline has no other auth). */
export function tenantOf(headers: Record<string, string | string[] | undefined>): string | null {
  const value = headers['x-tenant-id'];
  return isUuid(value) ? value.toLowerCase() : null;
}

export function requireTenant(ctx: { tenantId: string | null }): string {
  if (!ctx.tenantId) throw new GraphQLError('x-tenant-id header missing or not a uuid', { extensions: { code: 'UNAUTHENTICATED' } });
  return ctx.tenantId;
}
