import type pg from 'pg';
import { MikroORM, type EntitySchema } from '@mikro-orm/postgresql';
import { connectionString, runtimeRole } from './db.ts';

export type { MikroORM };
// Entity schemas of any shape: the ORM takes a heterogeneous list.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEntitySchema = EntitySchema<any, any>;
export type { EntityManager } from '@mikro-orm/postgresql';

export interface OrmOptions {
  databaseUrl: string;
  /** The subgraph; also its PostgreSQL schema and (by default) its runtime role's suffix. */
  schema: string;
  entities: AnyEntitySchema[];
  user?: string;
  password?: string | undefined;
  poolMax?: number;
  /** Called once per SQL statement sent (metrics, and the N+1 tests that count statements). */
  onStatement?: (sql: string) => void;
}

/** MikroORM for one subgraph, connected as its runtime role, its schema the default. */
export async function createOrm(opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: connectionString(opts.databaseUrl, { user: opts.user ?? runtimeRole(opts.schema), password: opts.password }),
    schema: opts.schema,
    entities: opts.entities,
    pool: { min: 0, max: opts.poolMax ?? 10 },
    allowGlobalContext: false,
    ensureDatabase: false,
    debug: false,
    driverOptions: {
      onPoolCreated: (pool: pg.Pool) => {
        pool.on('connect', (client) => deferBegin(client));
        // A connection back in the pool never carries an unsent BEGIN into its next use.
        pool.on('release', (_err: Error | undefined, client: pg.PoolClient) => (client as Deferring)[PENDING]?.(false));
      },
    },
    onQuery: (sql) => {
      opts.onStatement?.(sql);
      return sql;
    },
  });
}

/**
 * A SQL array literal of `values` for `em.execute` (MikroORM inlines an array parameter as a
 * comma list, so each value gets its own placeholder): `array[?,?]::uuid[]`.
 */
export const sqlArray = (values: readonly unknown[], type: string) => (values.length ? `array[${values.map(() => '?').join(',')}]::${type}[]` : `array[]::${type}[]`);

type QueryFn = (...args: unknown[]) => Promise<unknown>;
const PENDING = Symbol('pending begin');
type Deferring = { [PENDING]?: (value: boolean) => void };
const emptyResult = (command: string) => ({ command, rowCount: null, rows: [], fields: [], oid: 0 });

/**
 * Sends a transaction's BEGIN together with its first statement, one round trip fewer per
 * transaction (every request's unit of work opens one). BEGIN is acknowledged at once and
 * sent with the next plain statement as one multi-statement query, whose last result is the
 * statement's; a parameterised or cursor query gets BEGIN on its own first, and a
 * transaction that ends before any statement sends nothing. Errors are PostgreSQL's own:
 * BEGIN has started the transaction whatever the statement after it does.
 */
export function deferBegin(client: pg.PoolClient | pg.Client): void {
  const query = (client.query as QueryFn).bind(client);
  let pending = false;
  (client as Deferring)[PENDING] = (value) => (pending = value);
  const plain = (args: unknown[]): args is [string] | [string, unknown[]] =>
    typeof args[0] === 'string' && args.length <= 2 && (args[1] === undefined || (Array.isArray(args[1]) && args[1].length === 0));
  (client as { query: QueryFn }).query = (...args: unknown[]) => {
    if (plain(args) && args[0].trim().toLowerCase() === 'begin') {
      if (pending) return query('begin').then(() => emptyResult('BEGIN'));
      pending = true;
      return Promise.resolve(emptyResult('BEGIN'));
    }
    if (!pending) return query(...args);
    pending = false;
    if (plain(args)) {
      const text = args[0].trim().toLowerCase();
      if (text === 'commit' || text === 'rollback') return Promise.resolve(emptyResult(text.toUpperCase()));
      return query(`begin; ${args[0]}`).then((results) => (Array.isArray(results) ? results[results.length - 1] : results));
    }
    return query('begin').then(() => query(...args));
  };
}
