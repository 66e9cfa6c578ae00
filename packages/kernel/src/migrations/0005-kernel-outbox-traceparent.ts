// Kernel migration 0005: an event's trace context (tracing.ts). The outbox row keeps the W3C
// `traceparent` of the span that recorded it (null when tracing was off or nothing traced the
// change); the relay hands it on with the BullMQ job, and the consumer's span continues that
// trace, so a mutation's trace shows what its events caused.
// outbox_record takes it as a trailing argument, so a caller that passes the eight arguments it
// always did (a subgraph's own SQL function, e.g. enrollment's enroll_learner) keeps working: the
// argument then defaults to the transaction's `lectern.traceparent` setting, which
// uow.statement sets while tracing (null otherwise). A function's argument list is its
// identity in PostgreSQL, hence drop and create, not replace.
import type { Migration } from '../migration.ts';
import { OUTBOX_CHANNEL, TRACEPARENT_SETTING } from '../migration.ts';

export const outboxTraceparentMigration: Migration = {
  id: '0005-kernel-outbox-traceparent',
  up: (h) => {
    const s = h.schema;
    return [
      `ALTER TABLE ${s}.outbox ADD COLUMN traceparent text`,
      `DROP FUNCTION ${s}.outbox_record(uuid, uuid, text, int, text, text, timestamptz, jsonb)`,
      `CREATE FUNCTION ${s}.outbox_record(p_id uuid, p_tenant uuid, p_type text, p_version int, p_aggregate_type text, p_aggregate_id text, p_occurred_at timestamptz, p_payload jsonb, p_traceparent text DEFAULT NULLIF(current_setting('${TRACEPARENT_SETTING}', true), ''))
         RETURNS void LANGUAGE plpgsql VOLATILE AS $$
         BEGIN
           insert into ${s}.outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload, traceparent)
           values (p_id, p_tenant, p_type, p_version, p_aggregate_type, p_aggregate_id, p_occurred_at, p_payload, p_traceparent);
           PERFORM pg_notify('${OUTBOX_CHANNEL}', '${s}');
         END
         $$`,
    ];
  },
};
