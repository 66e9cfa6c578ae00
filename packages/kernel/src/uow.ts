// The tenant-scoped unit of work: a forked EntityManager with the `tenant` filter's
// params set (layer 1) inside one transaction whose first statement is
// set_config('app.tenant_id', …, true) (layer 2, RLS). The setting is transaction-local,
// so a pooled connection carries nothing of it into the next request.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { DEFERRED } from './orm.ts';

export const TENANT_FILTER = 'tenant';

/** The `filters` entry every tenant entity declares (defineEntity({ filters: tenantFilter })). */
export const tenantFilter = {
  [TENANT_FILTER]: {
    name: TENANT_FILTER,
    cond: (args: Record<string, unknown>) => ({ tenantId: args.tenantId }),
    default: true,
  },
};

export class UnitOfWork {
  readonly tenantId: string | null;
  #orm: MikroORM;
  #em: Promise<EntityManager> | undefined;
  #mapper: EntityManager | undefined;
  #done = false;
  /** A write is running: a write inside it takes a savepoint. */
  #writing = false;

  constructor(orm: MikroORM, tenantId: string | null) {
    this.#orm = orm;
    this.tenantId = tenantId;
  }

  /** The request's EntityManager; the transaction starts on first use, so DB-free requests cost nothing. */
  em(): Promise<EntityManager> {
    if (this.#done) throw new Error('unit of work already finished');
    this.#em ??= this.#begin();
    return this.#em;
  }

  get started() {
    return this.#em !== undefined;
  }

  /**
   * An EntityManager outside any transaction, for turning rows already in hand (a write's
   * RETURNING) into entities with `map`: a payload built from them takes no connection.
   */
  mapper(): EntityManager {
    return (this.#mapper ??= this.#orm.em.fork({ clear: true, useContext: false }));
  }

  async #begin(): Promise<EntityManager> {
    const em = this.#orm.em.fork({ clear: true, useContext: false });
    // Without a tenant the filter gets an id no row has: fail closed, never open.
    em.setFilterParams(TENANT_FILTER, { tenantId: this.tenantId ?? '00000000-0000-0000-0000-000000000000' });
    await em.begin();
    // Sent with BEGIN and the transaction's first statement, before it (orm.ts pipelineTransactions).
    await em.execute(`${DEFERRED}select set_config('app.tenant_id', ?, true)`, [this.tenantId ?? '']);
    return em;
  }

  /**
   * Runs a state change and commits it at once: each mutation field is its own transaction
   * (with what the request read before it), and its payload is read afterwards in a new one
   * when it needs the database. Committing here, not after the whole response is built,
   * keeps the locks a change takes (a cohort's seat row) no longer than the change itself.
   * A failure rolls back only this change; the other fields of the operation keep theirs.
   * A write inside a write runs in a savepoint of the outer one.
   */
  async write<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    const em = await this.em();
    if (this.#writing) {
      try {
        return await em.transactional(async (tx) => fn(tx as EntityManager));
      } catch (err) {
        // The savepoint is gone, but entities the change touched are still managed by the
        // request's EntityManager; forget them so the outer commit cannot flush them.
        em.clear();
        throw err;
      }
    }
    this.#writing = true;
    let result: T;
    try {
      result = await fn(em);
      await em.flush();
    } catch (err) {
      // Drop the transaction and the entities it loaded (so nothing later flushes them);
      // the next use begins a new one.
      this.#reset();
      em.clear();
      await em.rollback().catch(() => {});
      throw err;
    }
    this.#reset();
    try {
      await em.commit();
    } catch (err) {
      em.clear();
      await em.rollback().catch(() => {});
      throw err;
    }
    return result;
  }

  #reset() {
    this.#em = undefined;
    this.#writing = false;
  }

  async commit(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (!this.#em) return;
    const em = await this.#em;
    // Every write committed itself (write()), so what is left has only reads: commit without
    // the ORM's change-set computation over every entity the request loaded.
    const ctx = em.getTransactionContext();
    if (ctx) await em.getConnection('write').commit(ctx as Parameters<ReturnType<EntityManager['getConnection']>['commit']>[0]);
  }

  async rollback(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (!this.#em) return;
    const em = await this.#em.catch(() => undefined);
    await em?.rollback().catch(() => {});
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
