// The one way a subgraph runs an idempotent mutation (DESIGN rule 4): its own transaction
// (uow.write) around idempotent(), keyed by the mutation and the caller.
import type { EntityManager } from '@mikro-orm/postgresql';
import { principalOf, type Actor } from './actor.ts';
import { idempotent, type IdempotencyOptions } from './idempotency.ts';
import type { UnitOfWork } from './uow.ts';

export interface IdempotentWriteOptions {
  ttlHours?: IdempotencyOptions['ttlHours'];
  protect?: IdempotencyOptions['protect'];
}

/**
 * Runs `fn` once per idempotency key in its own transaction: the key is private to the tenant,
 * the mutation and the caller (scope `<mutation>:<principalOf(actor)>`), and the input, less
 * its idempotencyKey, is the key's fingerprint (pass normalised values in `input` when they
 * are what the mutation means, e.g. a trimmed email). `fn` returns JSON that a replay gets
 * back as stored. The caller authorizes first.
 */
export function idempotentWrite<I extends { idempotencyKey: string }, T>(
  uow: UnitOfWork,
  actor: Actor,
  mutation: string,
  input: I,
  fn: (em: EntityManager) => Promise<T>,
  opts: IdempotentWriteOptions = {},
): Promise<T> {
  const { idempotencyKey, ...fields } = input;
  return uow.write((em) =>
    idempotent(
      em,
      { tenantId: actor.tenantId, scope: `${mutation}:${principalOf(actor)}`, key: idempotencyKey, input: fields, ttlHours: opts.ttlHours, protect: opts.protect },
      () => fn(em),
    ),
  );
}
