// MikroORM for one subgraph: connected as the subgraph's runtime role (so PostgreSQL's RLS
// applies to everything it sends), its schema the default, no global context (every use goes
// through a unit of work: uow.ts).
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
