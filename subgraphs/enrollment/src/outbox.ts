// Many events of one type in one statement (a roster batch enrolls up to 200 learners): the
// same rows the kernel's recordEvent writes, validated the same way, and one wake-up.
// Call inside the transaction of the change.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { EventDefinition } from '@lectern/kernel/events';
import { OUTBOX_CHANNEL, recordEvent } from '@lectern/kernel/outbox';

/** A SQL array of `values` (MikroORM inlines array parameters as comma lists, so each gets its own placeholder). */
export const arr = (values: unknown[], type: string) => (values.length ? `array[${values.map(() => '?').join(',')}]::${type}[]` : `array[]::${type}[]`);

export async function recordEvents<E extends EventDefinition>(
  em: EntityManager,
  def: E,
  tenantId: string,
  events: { aggregateId: string; payload: z.input<E['payload']> }[],
): Promise<void> {
  if (events.length === 0) return;
  if (events.length === 1) {
    await recordEvent(em, def, { tenantId, ...events[0]! });
    return;
  }
  const schema = String(em.config.get('schema') ?? 'public');
  const occurredAt = new Date().toISOString();
  const ids: string[] = [];
  const aggregates: string[] = [];
  const payloads: string[] = [];
  for (const e of events) {
    ids.push(randomUUID());
    aggregates.push(e.aggregateId);
    payloads.push(JSON.stringify(def.payload.parse(e.payload)));
  }
  await em.execute(
    `insert into "${schema}".outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload)
     select e.id, ?, ?, ?, ?, e.aggregate_id, ?, e.payload::jsonb
       from unnest(${arr(ids, 'uuid')}, ${arr(aggregates, 'text')}, ${arr(payloads, 'text')}) with ordinality as e(id, aggregate_id, payload, n) order by e.n`,
    [tenantId, def.type, def.version, def.aggregate, occurredAt, ...ids, ...aggregates, ...payloads],
  );
  await em.execute('select pg_notify(?, ?)', [OUTBOX_CHANNEL, schema]);
}
