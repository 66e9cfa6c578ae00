// The transactional outbox (DESIGN rule 5): an event row is written in the same
// transaction as the change that caused it, so it exists if and only if the change commits.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { EventDefinition, EventEnvelope } from './events.ts';

export const OUTBOX_CHANNEL = 'lectern_outbox';

const schemaOf = (em: EntityManager) => String(em.config.get('schema') ?? 'public');

/**
 * Records `def` for `aggregateId` in the current transaction (call it inside uow.write).
 * The payload is validated against the event's schema; commit wakes the relays.
 */
export async function recordEvent<E extends EventDefinition>(
  em: EntityManager,
  def: E,
  args: { tenantId: string | null; aggregateId: string; payload: z.input<E['payload']> },
): Promise<EventEnvelope<z.infer<E['payload']>>> {
  const payload = def.payload.parse(args.payload) as z.infer<E['payload']>;
  const schema = schemaOf(em);
  const envelope = {
    id: randomUUID(),
    type: def.type,
    version: def.version,
    tenantId: args.tenantId,
    aggregateId: args.aggregateId,
    occurredAt: new Date().toISOString(),
    payload,
  };
  await em.execute(
    `insert into "${schema}".outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload)
     values (?, ?, ?, ?, ?, ?, ?, ?::jsonb)`,
    [envelope.id, envelope.tenantId, def.type, def.version, def.aggregate, args.aggregateId, envelope.occurredAt, JSON.stringify(payload)],
  );
  // Delivered to listeners only if the transaction commits.
  await em.execute('select pg_notify(?, ?)', [OUTBOX_CHANNEL, schema]);
  return envelope;
}
