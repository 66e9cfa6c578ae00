// MikroORM for one subgraph: connected as the subgraph's runtime role (so PostgreSQL's RLS
// applies to everything it sends), its schema the default, no global context (every use goes
// through a unit of work: uow.ts).
// Tracing on (tracing.ts), each statement sent inside a traced request, event or job gets a
// `db.query` span: MikroORM reports every statement it ran, with its duration, to its logger
// (loggerFactory, below), and queryBatch sends its own batches in a span. Spans carry the SQL
// text without parameter values (MikroORM's text has placeholders; queryBatch's inlined values
// become `?`). Transaction control (begin, commit) has no span: MikroORM reports no duration for it.
import type pg from 'pg';
import { DefaultLogger, MikroORM, type EntitySchema, type LogContext } from '@mikro-orm/postgresql';
import { connectionString, runtimeRole } from './db.ts';
import { inStatementSpan, isTracing, recordStatement, sanitizeSql } from './tracing.ts';

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

/** The ORM's own pg pool and statement counter, for batches the ORM cannot send (uow.statement). */
interface Raw {
  /** Created by MikroORM with its first connection (driverOptions.onPoolCreated). */
  pool?: pg.Pool;
  onStatement?: (sql: string) => void;
}
const raw = new WeakMap<MikroORM, Raw>();

/**
 * Sends `text` (one or more statements, parameters already inlined) as one simple query on the
 * ORM's pool, and returns the rows of its last statement. PostgreSQL runs a multi-statement
 * simple query as one transaction.
 */
export async function queryBatch<T>(orm: MikroORM, text: string): Promise<T[]> {
  const r = raw.get(orm);
  if (!r) throw new Error('queryBatch needs an ORM made by createOrm');
  // MikroORM makes its pool on its first statement.
  if (!r.pool) await orm.em.getConnection().execute('select 1');
  if (!r.pool) throw new Error('MikroORM did not create its pg pool');
  r.onStatement?.(text);
  const pool = r.pool;
  const send = async () => {
    const results = (await pool.query(text)) as pg.QueryResult | pg.QueryResult[];
    return (Array.isArray(results) ? results[results.length - 1]! : results).rows as T[];
  };
  return isTracing() ? inStatementSpan(sanitizeSql(text), String(orm.config.get('schema') ?? ''), send) : send();
}

/** MikroORM's logger, and a `db.query` span for each statement it reports run (see the header). */
class StatementSpans extends DefaultLogger {
  readonly #schema: string;
  constructor(options: ConstructorParameters<typeof DefaultLogger>[0], schema: string) {
    super(options);
    this.#schema = schema;
  }

  override logQuery(context: { query: string } & LogContext): void {
    super.logQuery(context);
    // `took` marks a statement that ran (executeQuery); a slow one is reported twice, once as 'slow-query'.
    if (!isTracing() || context.took === undefined || context.namespace === 'slow-query' || !context.query) return;
    recordStatement(context.query, context.took, { schema: this.#schema, failed: context.level === 'error', rows: context.results });
  }
}

/** MikroORM for one subgraph, connected as its runtime role, its schema the default. */
export async function createOrm(opts: OrmOptions): Promise<MikroORM> {
  const state: Raw = { onStatement: opts.onStatement };
  const orm = await MikroORM.init({
    clientUrl: connectionString(opts.databaseUrl, { user: opts.user ?? runtimeRole(opts.schema), password: opts.password }),
    schema: opts.schema,
    entities: opts.entities,
    pool: { min: 0, max: opts.poolMax ?? 10 },
    allowGlobalContext: false,
    ensureDatabase: false,
    debug: false,
    loggerFactory: (options) => new StatementSpans(options, opts.schema),
    driverOptions: { onPoolCreated: (created: pg.Pool) => void (state.pool = created) },
    onQuery: (sql) => {
      opts.onStatement?.(sql);
      return sql;
    },
  });
  raw.set(orm, state);
  return orm;
}

/**
 * A SQL array literal of `values` for `em.execute` (MikroORM inlines an array parameter as a
 * comma list, so each value gets its own placeholder): `array[?,?]::uuid[]`.
 */
export const sqlArray = (values: readonly unknown[], type: string) => (values.length ? `array[${values.map(() => '?').join(',')}]::${type}[]` : `array[]::${type}[]`);
