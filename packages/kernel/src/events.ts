// Domain events: declared once in the producing subgraph's contract/ with a zod payload
// schema (ids and non-personal facts only), carried in one envelope everywhere.
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

/** Event type → consuming contexts, merged from the consumers' contracts. */
export type Routes = Record<string, string[]>;

export function mergeRoutes(...maps: Routes[]): Routes {
  const out: Routes = {};
  for (const map of maps) {
    for (const [type, consumers] of Object.entries(map)) out[type] = [...new Set([...(out[type] ?? []), ...consumers])];
  }
  return out;
}
