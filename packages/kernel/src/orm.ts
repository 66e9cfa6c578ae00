import type pg from 'pg';
import { MikroORM, type EntityManager, type EntitySchema } from '@mikro-orm/postgresql';
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
        pool.on('connect', (client) => pipelineTransactions(client));
        // A connection back in the pool never carries an unsent BEGIN into its next use.
        pool.on('release', (_err: Error | undefined, client: pg.PoolClient) => (client as Pipelined)[RESET]?.());
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
const RESET = Symbol('reset transaction pipeline');
type Pipelined = { [RESET]?: () => void };
type Result = { command: string; rows: unknown[] };
const emptyResult = (command: string) => ({ command, rowCount: null, rows: [], fields: [], oid: 0 });

/** Marks a statement whose result is not wanted: sent with BEGIN and the first statement after it (see pipelineTransactions). */
export const DEFERRED = '/* lectern:deferred */ ';

/** The savepoint a guarded statement (executeGuarded) runs in; the pipeline recognises it. */
const GUARD = 'lectern_guard';
const GUARD_PREFIX = `savepoint ${GUARD}; `;
const GUARD_COMMIT = '; commit';

/**
 * Saves round trips on the ORM's pooled connections without changing what PostgreSQL sees:
 *
 * - A transaction's BEGIN travels with its first statement. BEGIN is acknowledged at once and
 *   sent with the next plain statement as one multi-statement query, whose last result is the
 *   statement's; a parameterised or cursor query gets BEGIN on its own first, and a
 *   transaction that ends before any statement sends nothing. Errors are PostgreSQL's own:
 *   BEGIN has started the transaction whatever the statement after it does.
 * - A statement marked DEFERRED (the unit of work's tenant setting) right after BEGIN waits
 *   with it: `begin; <deferred>; <first statement>` is still one query, in that order, so
 *   nothing runs in the transaction before it. Its own result is never wanted.
 * - A guarded statement that commits (executeGuarded with `commit`) carries the COMMIT: the
 *   ORM's own COMMIT (or ROLLBACK) that follows is answered here, and any other statement
 *   before it is refused, since it would run outside the transaction.
 */
export function pipelineTransactions(client: pg.PoolClient | pg.Client): void {
  const query = (client.query as QueryFn).bind(client);
  // open: as PostgreSQL has it; begin: BEGIN acknowledged but not sent (with `prefix`, the
  // deferred statements after it); ended: committed by a guarded statement, the ORM's COMMIT
  // still to come.
  let state: 'open' | 'begin' | 'ended' = 'open';
  let prefix = 'begin';
  (client as Pipelined)[RESET] = () => (state = 'open');
  const plain = (args: unknown[]): args is [string] | [string, unknown[]] =>
    typeof args[0] === 'string' && args.length <= 2 && (args[1] === undefined || (Array.isArray(args[1]) && args[1].length === 0));
  const control = (text: string) => (text.length <= 10 ? text.trim().toLowerCase() : '');
  (client as { query: QueryFn }).query = (...args: unknown[]) => {
    const text = plain(args) ? args[0] : undefined;
    const verb = text === undefined ? '' : control(text);
    if (state === 'ended') {
      if (verb === 'commit' || verb === 'rollback') {
        state = 'open';
        return Promise.resolve(emptyResult(verb.toUpperCase()));
      }
      return Promise.reject(new Error('The transaction was committed by its last statement (executeGuarded with commit); nothing can run in it after that'));
    }
    if (verb === 'begin') {
      // A BEGIN while one is pending changes nothing (PostgreSQL only warns).
      if (state !== 'begin') {
        state = 'begin';
        prefix = 'begin';
      }
      return Promise.resolve(emptyResult('BEGIN'));
    }
    const deferred = state === 'begin';
    if (deferred) {
      if (text?.startsWith(DEFERRED)) {
        prefix += `; ${text}`;
        return Promise.resolve(emptyResult('SELECT'));
      }
      state = 'open';
      if (verb === 'commit' || verb === 'rollback') return Promise.resolve(emptyResult(verb.toUpperCase()));
      if (text === undefined) return query(prefix).then(() => query(...args));
    }
    if (text === undefined) return query(...args);
    const guarded = text.startsWith(GUARD_PREFIX);
    if (!deferred && !guarded) return query(...args);
    // A multi-statement query: [begin, deferred…,] [savepoint, the statement, commit or
    // release]; the statement's result is the caller's.
    return query(deferred ? `${prefix}; ${text}` : text).then((results) => {
      if (!Array.isArray(results)) return results;
      if (guarded && text.endsWith(GUARD_COMMIT)) state = 'ended';
      return (results as Result[])[results.length - (guarded ? 2 : 1)];
    });
  };
}

/**
 * Runs one statement in a savepoint of `em`'s transaction, in one round trip: when it fails,
 * the transaction is back where it was before it and the error is thrown, so the caller can
 * go on (e.g. a CHECK constraint that says "no").
 *
 * With `commit`, the statement is the transaction's last and the COMMIT travels with it: the
 * locks it takes end the moment PostgreSQL has done it, not a trip through this process
 * later. Nothing may run in the transaction after it, and the unit of work's commit costs
 * nothing. A failure at COMMIT itself ends the transaction: the rollback to the savepoint
 * then fails too, and that error is thrown. Inside a nested transaction (a savepoint), the
 * outer transaction commits later.
 */
export async function executeGuarded<T extends object = Record<string, unknown>>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[] = [],
  opts: { commit?: boolean } = {},
): Promise<T[]> {
  const ctx = em.getTransactionContext<object>();
  if (!ctx) throw new Error('executeGuarded runs inside a transaction');
  const end = opts.commit && !('savepointName' in ctx) ? GUARD_COMMIT : `; release savepoint ${GUARD}`;
  try {
    return await em.execute<T[]>(`${GUARD_PREFIX}${sql}${end}`, [...params]);
  } catch (err) {
    // Back to the savepoint; if even that fails (the connection or the transaction is gone),
    // the caller must not go on as if it were: that error is thrown instead.
    await em.execute(`rollback to savepoint ${GUARD}`).catch((lost: unknown) => {
      throw Object.assign(lost instanceof Error ? lost : new Error(String(lost)), { cause: err });
    });
    throw err;
  }
}
