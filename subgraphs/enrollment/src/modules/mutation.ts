// Plumbing every enrollment mutation shares: the idempotent savepoint, driver errors turned
// into CONFLICT, and fresh loaders for the payload.
import { DeadlockException, LockWaitTimeoutException, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { conflict, idempotent, type Actor, type IdempotencyClaim, type UnitOfWork } from '@lectern/kernel';
import { principalOf, type Member } from '../access.ts';
import type { EnrollmentLoaders } from '../loaders.ts';
import type { Remote } from './remote/remote.ts';

export interface ServiceDeps {
  actor: Actor;
  uow: UnitOfWork;
  loaders: EnrollmentLoaders;
  remote: Remote;
}

export interface Idempotent {
  idempotencyKey: string;
}

/**
 * Runs `fn` once per idempotency key in a savepoint of the request transaction (the caller
 * authorized first). `fn` returns JSON (ids and typed errors) that a replay gets back as stored.
 */
export async function runMutation<I extends Idempotent, T>(
  deps: ServiceDeps & { actor: Member },
  mutation: string,
  input: I,
  fn: (em: EntityManager, tenantId: string, claim: IdempotencyClaim<T>) => Promise<T>,
): Promise<T> {
  const { actor, uow } = deps;
  const { idempotencyKey, ...rest } = input;
  try {
    return await uow.write((em) =>
      idempotent(em, { tenantId: actor.tenantId, scope: `${mutation}:${principalOf(actor)}`, key: idempotencyKey, input: rest }, (claim) => fn(em, actor.tenantId, claim)),
    );
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw conflict('A concurrent change got there first; retry');
    if (err instanceof DeadlockException || err instanceof LockWaitTimeoutException) throw conflict('The cohort is being changed by another request; retry');
    throw err;
  } finally {
    // Payloads load what the mutation left, not what the request saw before it.
    deps.loaders.clearAll();
    if (uow.started) (await uow.em()).clear();
  }
}
