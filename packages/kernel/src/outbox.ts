// The transactional outbox (DESIGN rule 5): an event row is written in the same
// transaction as the change that caused it, so it exists if and only if the change commits.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { EventDefinition, EventEnvelope } from './events.ts';
import { sqlArray } from './orm.ts';

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

/**
 * recordEvent as part of one data-modifying statement, for hot paths that hold a lock until
 * commit: `insert` is a CTE body writing the event once per row of the CTE `source` (so only
 * when the guarded change happened), `notify` the wake-up to select in the same statement.
 * Validated like recordEvent. Params are in text order: the CTE's, then the select's.
 */
export function eventStatement<E extends EventDefinition>(
  em: EntityManager,
  def: E,
  args: { tenantId: string | null; aggregateId: string; payload: z.input<E['payload']> },
  source: string,
): { insert: { sql: string; params: unknown[] }; notify: { sql: string; params: unknown[] } } {
  const payload = def.payload.parse(args.payload);
  const schema = schemaOf(em);
  return {
    insert: {
      sql: `insert into "${schema}".outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload)
            select ?, ?, ?, ?, ?, ?, ?, ?::jsonb from ${source}`,
      params: [randomUUID(), args.tenantId, def.type, def.version, def.aggregate, args.aggregateId, new Date().toISOString(), JSON.stringify(payload)],
    },
    notify: { sql: 'pg_notify(?, ?)', params: [OUTBOX_CHANNEL, schema] },
  };
}

/**
 * Records many events of one type for one organization in one statement (e.g. a roster batch
 * enrolling 200 learners): the rows recordEvent writes, validated the same way, one wake-up.
 */
export async function recordEvents<E extends EventDefinition>(
  em: EntityManager,
  def: E,
  tenantId: string | null,
  events: { aggregateId: string; payload: z.input<E['payload']> }[],
): Promise<void> {
  if (events.length === 0) return;
  if (events.length === 1) {
    await recordEvent(em, def, { tenantId, ...events[0]! });
    return;
  }
  const schema = schemaOf(em);
  const ids = events.map(() => randomUUID());
  const aggregates = events.map((e) => e.aggregateId);
  const payloads = events.map((e) => JSON.stringify(def.payload.parse(e.payload)));
  await em.execute(
    `insert into "${schema}".outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload)
     select e.id, ?, ?, ?, ?, e.aggregate_id, ?, e.payload::jsonb
       from unnest(${sqlArray(ids, 'uuid')}, ${sqlArray(aggregates, 'text')}, ${sqlArray(payloads, 'text')}) with ordinality as e(id, aggregate_id, payload, n)
      order by e.n`,
    [tenantId, def.type, def.version, def.aggregate, new Date().toISOString(), ...ids, ...aggregates, ...payloads],
  );
  await em.execute('select pg_notify(?, ?)', [OUTBOX_CHANNEL, schema]);
}
