// Plumbing every enrollment mutation shares: the idempotent savepoint, driver errors turned
// into CONFLICT, and fresh loaders for the payload.
import { DeadlockException, LockWaitTimeoutException, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { conflict, idempotentWrite, type Actor, type UnitOfWork } from '@lectern/kernel';
import type { Member } from '../../access.ts';
import type { EnrollmentLoaders } from '../../loaders.ts';
import type { Remote } from '../remote/remote.ts';

export interface ServiceDeps {
  actor: Actor;
  uow: UnitOfWork;
  loaders: EnrollmentLoaders;
  remote: Remote;
}

export interface Idempotent {
  idempotencyKey: string;
}

type MutationFn<T> = (em: EntityManager, tenantId: string) => Promise<T>;

/**
 * Runs `fn` once per idempotency key in the mutation's own transaction (kernel idempotentWrite;
 * the caller authorized first). `fn` returns JSON (ids and typed errors) that a replay gets back as stored.
 */
export async function runMutation<I extends Idempotent, T>(
  deps: ServiceDeps & { actor: Member },
  mutation: string,
  input: I,
  fn: MutationFn<T>,
): Promise<T> {
  const { actor, uow } = deps;
  try {
    return await idempotentWrite(uow, actor, mutation, input, (em) => fn(em, actor.tenantId));
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw conflict('A concurrent change got there first; retry');
    if (err instanceof DeadlockException || err instanceof LockWaitTimeoutException) throw conflict('The cohort is being changed by another request; retry');
    throw err;
  } finally {
    // Payloads load what the mutation left, not what the request saw before it.
    deps.loaders.clearAll();
  }
}
