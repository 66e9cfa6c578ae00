// Plumbing every live mutation shares: the idempotent transaction, passing refusals that are
// answered but not stored (mute, rate limit), driver errors turned into CONFLICT, events
// published once the change committed, and fresh loaders for the payload.
import { DeadlockException, LockWaitTimeoutException, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { conflict, idempotentWrite, type Actor, type UnitOfWork } from '@lectern/kernel';
import type { Member } from '../../access.ts';
import type { LiveError, MutationResult } from '../../errors.ts';
import type { LiveLoaders, Viewer } from '../../loaders.ts';
import type { TokenBucket } from '@lectern/kernel/rate-limit';
import type { PresenceService } from '../presence/presence.service.ts';
import type { LiveEvent, Publisher } from '../realtime/events.ts';

export interface ServiceDeps {
  actor: Actor;
  uow: UnitOfWork;
  loaders: LiveLoaders;
  viewer: Viewer;
  presence: PresenceService;
  /** The chat bucket per (organization, session, person). */
  rateLimiter: TokenBucket;
  publisher: Publisher;
}

export interface Idempotent {
  idempotencyKey: string;
}

/** A passing refusal: answered in the payload, rolled back, never stored under the key. */
export class Refusal extends Error {
  readonly error: LiveError;
  constructor(error: LiveError) {
    super(error.message);
    this.error = error;
  }
}

type MutationFn = (em: EntityManager, tenantId: string, publish: (e: LiveEvent) => void) => Promise<MutationResult>;

/**
 * Runs `fn` once per idempotency key in the mutation's own transaction (kernel
 * idempotentWrite; the caller authorized first), then publishes the events `fn` produced: only
 * after the commit, and only the first time (a replay publishes nothing).
 */
export async function runMutation<I extends Idempotent>(deps: ServiceDeps & { actor: Member }, mutation: string, input: I, fn: MutationFn): Promise<MutationResult> {
  const { actor, uow } = deps;
  const events: LiveEvent[] = [];
  try {
    const result = await idempotentWrite(uow, actor, mutation, input, (em) => {
      events.length = 0;
      return fn(em, actor.tenantId, (e) => events.push(e));
    });
    for (const e of events) await deps.publisher.publish(actor.tenantId, e);
    return result;
  } catch (err) {
    if (err instanceof Refusal) return { errors: [err.error] };
    if (err instanceof UniqueConstraintViolationException) throw conflict('A concurrent change got there first; retry');
    if (err instanceof DeadlockException || err instanceof LockWaitTimeoutException) throw conflict('The session is being changed by another request; retry');
    throw err;
  } finally {
    deps.loaders.clearAll();
  }
}
