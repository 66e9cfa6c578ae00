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

type MutationFn<T> = (em: EntityManager, tenantId: string, claim: IdempotencyClaim<T>) => Promise<T>;

/**
 * Runs `fn` once per idempotency key in a savepoint of the request transaction (the caller
 * authorized first). `fn` returns JSON (ids and typed errors) that a replay gets back as stored.
 * With `commitWithStore`, the store of that result carries the transaction's COMMIT (`fn`
 * must then leave nothing for the unit of work to flush).
 */
export async function runMutation<I extends Idempotent, T>(
  deps: ServiceDeps & { actor: Member },
  mutation: string,
  input: I,
  fn: MutationFn<T>,
  opts: { commitWithStore?: boolean } = {},
): Promise<T> {
  const { actor, uow } = deps;
  const { idempotencyKey, ...fields } = input;
  try {
    return await uow.write((em) =>
      idempotent(em, { tenantId: actor.tenantId, scope: `${mutation}:${principalOf(actor)}`, key: idempotencyKey, input: fields, ...opts }, (claim) => fn(em, actor.tenantId, claim)),
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
