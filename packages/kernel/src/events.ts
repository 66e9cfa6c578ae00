// Domain events: declared once in the producing context's module of @lectern/contracts with a
// zod payload schema (ids and non-personal facts only), carried in one envelope everywhere.
import { z } from 'zod';

export interface EventDefinition<T extends string = string, P extends z.ZodType = z.ZodType> {
  type: T;
  version: number;
  /** What the aggregate id names (course, membership, ...), for readers of the outbox. */
  aggregate: string;
  payload: P;
}

export function defineEvent<T extends string, P extends z.ZodType>(def: EventDefinition<T, P>): EventDefinition<T, P> {
  return def;
}

export const envelopeSchema = z.object({
  id: z.string().uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  tenantId: z.string().uuid().nullable(),
  aggregateId: z.string().min(1),
  occurredAt: z.string(),
  payload: z.unknown(),
});

export type EventEnvelope<P = unknown> = Omit<z.infer<typeof envelopeSchema>, 'payload'> & { payload: P };
export type EventOf<E extends EventDefinition> = EventEnvelope<z.infer<E['payload']>>;

/** Event type → consuming contexts: what an outbox relay enqueues each event to. */
export type Routes = Record<string, string[]>;

/** Routes from the consumers' declarations (consuming context → the events it subscribes to). */
export function routesFrom(subscriptions: Record<string, readonly EventDefinition[]>): Routes {
  const out: Routes = {};
  for (const [consumer, events] of Object.entries(subscriptions)) {
    for (const { type } of events) if (!out[type]?.includes(consumer)) (out[type] ??= []).push(consumer);
  }
  return out;
}
