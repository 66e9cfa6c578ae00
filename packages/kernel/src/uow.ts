// The tenant-scoped unit of work: one per GraphQL request, job run or event delivery.
//
// Two layers keep a tenant's rows its own (DESIGN rule 2):
//   1. the `tenant` filter on every entity query (tenant_id = the unit of work's tenant), and
//   2. RLS: MikroORM's session context makes set_config('app.tenant_id', tenant, true) the
//      first statement of every transaction it begins. The setting is transaction-local, so a
//      pooled connection carries nothing of it into the next request.
//
// Transactions, all opened and ended through MikroORM's own API:
//   - em(): the unit of work's transaction, begun on first use (a request that needs no
//     database costs nothing) and committed by commit() when the response is sent (the ORM
//     flushes first). Reads use it; so do jobs and consumers for their writes.
//   - write(fn): one transaction per mutation field. The transaction em() opened, if any, is
//     committed first, so a request never holds two connections; then `fn` runs in
//     em.transactional(): flushed and committed when it returns, rolled back when it throws.
//     Committing per field keeps the locks a change takes no longer than the change, and a
//     failed field leaves the fields before it committed. A write inside a write is a
//     savepoint of it. After a write, em() begins a new transaction with an empty identity
//     map, so a payload reads what the write left.
//   - statement(sql, params): one statement in one round trip, outside em()'s transaction
//     (see its comment): for hot reads (map() turns their rows into entities), and for a
//     subgraph's own SQL function that makes a whole change (enrollment's enroll_learner).
import type { EntityDictionary, EntityManager, EntityName, MikroORM } from '@mikro-orm/postgresql';
import { TRACEPARENT_SETTING } from './migration.ts';
import { queryBatch } from './orm.ts';
import { recordingTraceparent } from './outbox.ts';

export const TENANT_FILTER = 'tenant';
/** The PostgreSQL setting every RLS policy reads (kernel db.ts TENANT_PREDICATE). */
export const TENANT_SETTING = 'app.tenant_id';
/** No row has this tenant: a unit of work without one fails closed through the filter. */
const NO_TENANT = '00000000-0000-0000-0000-000000000000';

/** The `filters` entry every tenant entity declares (defineEntity({ filters: tenantFilter })). */
export const tenantFilter = {
  [TENANT_FILTER]: {
    name: TENANT_FILTER,
    cond: (args: Record<string, unknown>) => ({ tenantId: args.tenantId }),
    default: true,
  },
};

/** What a store needs of a unit of work to read: uow.statement. */
export type Statements = Pick<UnitOfWork, 'statement'>;

export class UnitOfWork {
  readonly tenantId: string | null;
  #orm: MikroORM;
  /** The unit of work's EntityManager (its identity map), made on first use. */
  #em: EntityManager | undefined;
  /** em()'s transaction on it, while one is open. */
  #open: Promise<void> | undefined;
  /** The transaction of the running write(), while there is one. */
  #writing: EntityManager | undefined;
  #done = false;

  constructor(orm: MikroORM, tenantId: string | null) {
    this.#orm = orm;
    this.tenantId = tenantId;
  }

  /** The unit of work's EntityManager, in its transaction (inside write(): the write's). */
  async em(): Promise<EntityManager> {
    if (this.#done) throw new Error('unit of work already finished');
    if (this.#writing) return this.#writing;
    const em = (this.#em ??= this.#fork());
    await (this.#open ??= em.begin());
    return em;
  }

  /**
   * Turns a row read by statement() into a managed entity of the unit of work's EntityManager
   * (no statement, no transaction): em.map().
   */
  map<T extends object>(entity: EntityName<T>, row: Record<string, unknown>): T {
    if (this.#done) throw new Error('unit of work already finished');
    return (this.#writing ?? (this.#em ??= this.#fork())).map(entity, row as EntityDictionary<T>);
  }

  /**
   * A fresh EntityManager scoped to this tenant: the filter's parameter and RLS's session context.
   * Never the transaction of a write that happens to be running (MikroORM finds that through
   * async context): a unit of work is its own, even when started inside another's write.
   */
  #fork(): EntityManager {
    const em = this.#orm.em.fork({ clear: true, useContext: false, disableContextResolution: true });
    em.setFilterParams(TENANT_FILTER, { tenantId: this.tenantId ?? NO_TENANT });
    em.setSessionContext({ variables: { [TENANT_SETTING]: this.tenantId ?? '' } });
    return em;
  }

  /**
   * Runs one statement in its own transaction, in one round trip, with the tenant setting
   * before it: `select set_config('app.tenant_id', <tenant>, true); <statement>` is sent as one
   * simple query, which PostgreSQL runs as one transaction: the setting is transaction-local as
   * everywhere else, RLS applies to the statement, and a failure undoes all of it. Parameters
   * (`?`) are inlined by MikroORM's own formatter, as for every query MikroORM sends. It does
   * not see em()'s or a write's uncommitted rows, so it is refused inside a write.
   */
  async statement<T extends object = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (this.#done) throw new Error('unit of work already finished');
    if (this.#writing) throw new Error('uow.statement runs outside a write: use the write\'s EntityManager');
    const platform = this.#orm.em.getPlatform();
    // While tracing, the trace too: an event a SQL function records (outbox_record's default) keeps it.
    const traceparent = recordingTraceparent();
    const settings = traceparent
      ? platform.formatQuery(`select set_config('${TENANT_SETTING}', ?, true), set_config('${TRACEPARENT_SETTING}', ?, true)`, [this.tenantId ?? '', traceparent])
      : platform.formatQuery(`select set_config('${TENANT_SETTING}', ?, true)`, [this.tenantId ?? '']);
    return queryBatch<T>(this.#orm, `${settings}; ${platform.formatQuery(sql, [...params])}`);
  }

  /** Runs a state change in its own transaction (see the header). */
  async write<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    if (this.#done) throw new Error('unit of work already finished');
    const outer = this.#writing;
    if (outer) return outer.transactional((tx) => fn(tx as EntityManager));
    await this.commitOpen();
    try {
      return await this.#fork().transactional((tx) => {
        this.#writing = tx as EntityManager;
        return fn(tx as EntityManager);
      });
    } finally {
      this.#writing = undefined;
    }
  }

  /** Commits em()'s transaction, if one is open; the next em() begins another, with an empty identity map. */
  async commitOpen(): Promise<void> {
    const em = await this.#take();
    if (!em) return;
    try {
      await em.commit();
    } catch (err) {
      await em.rollback().catch(() => {});
      throw err;
    }
  }

  async commit(): Promise<void> {
    if (this.#done) return;
    try {
      await this.commitOpen();
    } finally {
      this.#done = true;
    }
  }

  async rollback(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await (await this.#take().catch(() => undefined))?.rollback().catch(() => {});
  }

  /** em()'s EntityManager if its transaction began, forgotten here either way. */
  async #take(): Promise<EntityManager | undefined> {
    const [em, open] = [this.#em, this.#open];
    this.#em = undefined;
    this.#open = undefined;
    if (!em || !open) return undefined;
    await open;
    return em;
  }
}

/** Runs `fn` in its own unit of work for `tenantId` and commits (jobs, scripts, seeds). */
export async function inTenant<T>(orm: MikroORM, tenantId: string | null, fn: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  const uow = new UnitOfWork(orm, tenantId);
  try {
    const result = await fn(uow);
    await uow.commit();
    return result;
  } catch (err) {
    await uow.rollback();
    throw err;
  }
}

/**
 * Runs `fn` after the transaction of `em` (a transactional fork, as a unit of work's write and an
 * event handler receive) commits, never if it rolls back. MikroORM gives each transaction's fork
 * its own copy of the event manager, so the subscriber registered here hears this transaction
 * only; a nested transaction (savepoint) of it is ignored (args.em is then its own fork). `em`
 * must be the outermost transaction's: a savepoint's release is not a commit, and nothing runs.
 */
export function afterCommit(em: EntityManager, fn: () => void): void {
  em.getEventManager().registerSubscriber({
    afterTransactionCommit: async (args) => {
      if (args.em !== em || (args.transaction && 'savepointName' in (args.transaction as object))) return;
      fn();
    },
  });
}
