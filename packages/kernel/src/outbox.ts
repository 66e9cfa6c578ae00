// The transactional outbox (DESIGN rule 5): an event row is written in the same
// transaction as the change that caused it, so it exists if and only if the change commits.
// Tracing on (tracing.ts), the row also keeps the traceparent of the span recording it (column
// outbox.traceparent, kernel migration 0005): the relay and the consumer continue that trace.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { EventDefinition, EventEnvelope } from './events.ts';
import { OUTBOX_CHANNEL } from './db.ts';
import { sqlArray } from './orm.ts';
import { activeSpan, isTracing, traceparentOf } from './tracing.ts';

export { OUTBOX_CHANNEL };

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
  const envelope = eventEnvelope(def, args);
  // The row and the relays' wake-up (delivered only if the transaction commits): kernel db.ts outbox_record.
  await em.execute(`select "${schemaOf(em)}".outbox_record(?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)`, [...outboxRecordParams(def, envelope), recordingTraceparent()]);
  return envelope;
}

/**
 * The first eight arguments of the kernel's outbox_record SQL function for `envelope`, in order
 * (the ninth, optional, is the traceparent: recordingTraceparent()).
 */
export function outboxRecordParams(def: EventDefinition, envelope: EventEnvelope): unknown[] {
  return [envelope.id, envelope.tenantId, def.type, def.version, def.aggregate, envelope.aggregateId, envelope.occurredAt, JSON.stringify(envelope.payload)];
}

/** The traceparent an outbox row keeps: the current span's while tracing is on, else null. */
export function recordingTraceparent(): string | null {
  if (!isTracing()) return null;
  const span = activeSpan();
  return span ? traceparentOf(span) : null;
}

/**
 * A validated envelope of `def` (recordEvent records one; a subgraph's own SQL function may take
 * it as outboxRecordParams; tests deliver one as a relay would, with their own `id` to redeliver).
 */
export function eventEnvelope<E extends EventDefinition>(
  def: E,
  args: { tenantId: string | null; aggregateId: string; payload: z.input<E['payload']>; id?: string; occurredAt?: Date },
): EventEnvelope<z.infer<E['payload']>> {
  return {
    id: args.id ?? randomUUID(),
    type: def.type,
    version: def.version,
    tenantId: args.tenantId,
    aggregateId: args.aggregateId,
    occurredAt: (args.occurredAt ?? new Date()).toISOString(),
    payload: def.payload.parse(args.payload) as z.infer<E['payload']>,
  };
}

/** An envelope as a relay delivers one (tests, benchmarks, seeds): a fresh aggregate id unless given. */
export function deliveredEnvelope<E extends EventDefinition>(
  def: E,
  args: { tenantId: string | null; payload: z.input<E['payload']>; aggregateId?: string; id?: string },
): EventEnvelope<z.infer<E['payload']>> {
  return eventEnvelope(def, { ...args, aggregateId: args.aggregateId ?? randomUUID() });
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
    `insert into "${schema}".outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload, traceparent)
     select e.id, ?, ?, ?, ?, e.aggregate_id, ?, e.payload::jsonb, ?
       from unnest(${sqlArray(ids, 'uuid')}, ${sqlArray(aggregates, 'text')}, ${sqlArray(payloads, 'text')}) with ordinality as e(id, aggregate_id, payload, n)
      order by e.n`,
    [tenantId, def.type, def.version, def.aggregate, new Date().toISOString(), recordingTraceparent(), ...ids, ...aggregates, ...payloads],
  );
  await em.execute('select pg_notify(?, ?)', [OUTBOX_CHANNEL, schema]);
}
