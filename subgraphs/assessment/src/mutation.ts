// Plumbing every assessment mutation shares: the idempotent transaction (kernel
// idempotentWrite), refusals that roll the transaction back but are still answered, driver
// errors turned into CONFLICT, work handed on after the commit (expire-attempt jobs), and
// fresh loaders for the payload.
import { DeadlockException, LockWaitTimeoutException, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { conflict, idempotentWrite, type Actor, type Logger, type UnitOfWork } from '@lectern/kernel';
import type { Member, Viewer } from './access.ts';
import type { AssessmentError, MutationResult } from './errors.ts';
import type { AssessmentLoaders } from './loaders.ts';
import type { Catalog } from './modules/roster/catalog.ts';
import type { Deadlines } from './modules/attempt/deadline.ts';
import type { AttemptItemsCache } from './modules/attempt/item-cache.ts';

export interface ServiceDeps {
  actor: Actor;
  uow: UnitOfWork;
  loaders: AssessmentLoaders;
  viewer: Viewer;
  catalog: Catalog;
  deadlines: Deadlines;
  shown: AttemptItemsCache;
  log: Logger;
}

export interface Idempotent {
  idempotencyKey: string;
}

/**
 * An expected outcome found after the transaction changed something (e.g. an attempt counted
 * before its draw found no question): answered in the payload, the transaction rolled back.
 * Stored under the key like any outcome, so a replay answers the same.
 */
export class Refusal extends Error {
  readonly errors: AssessmentError[];
  constructor(...errors: AssessmentError[]) {
    super(errors[0]?.message ?? 'refused');
    this.errors = errors;
  }
}

/** What `fn` may hand on: work to do once the change committed (the first time only). */
export interface After {
  (fn: () => Promise<unknown> | void): void;
}

type MutationFn = (em: EntityManager, tenantId: string, after: After) => Promise<MutationResult>;

/**
 * Runs `fn` once per idempotency key in the mutation's own transaction (the caller authorized
 * first); a Refusal rolls back what `fn` did and is what the key answers from then on. Work
 * `fn` handed to `after` runs once the transaction committed, never on a replay.
 */
export async function runMutation<I extends Idempotent>(deps: ServiceDeps & { actor: Member }, mutation: string, input: I, fn: MutationFn): Promise<MutationResult> {
  const { actor, uow } = deps;
  const later: (() => Promise<unknown> | void)[] = [];
  try {
    const result = await idempotentWrite(uow, actor, mutation, input, async (em) => {
      later.length = 0;
      try {
        return await em.transactional((tx) => fn(tx as EntityManager, actor.tenantId, (f) => later.push(f)));
      } catch (err) {
        if (err instanceof Refusal) {
          later.length = 0;
          return { errors: err.errors };
        }
        throw err;
      }
    });
    for (const f of later) await f();
    return result;
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw conflict('A concurrent change got there first; retry');
    if (err instanceof DeadlockException || err instanceof LockWaitTimeoutException) throw conflict('This is being changed by another request; retry');
    throw err;
  } finally {
    deps.loaders.clearAll();
  }
}
