// Kernel migration 0003, kept in its own file like a subgraph's migrations (DDL run by the
// migration role; the tenant-predicate scanner reads only the runtime's SQL).
//
// Retention (retention.ts): the worker of each subgraph purges, in short batches, what has
// served its purpose, across every organization. Its runtime role is under RLS and sees one
// tenant at a time, and the relay role may only read and mark the outbox, so the purge is a
// SECURITY DEFINER function owned by the migration role that only the subgraph's runtime role
// may execute. The owner is under FORCE RLS too: the kernel_retention policies let it (and so
// the function) see and delete only rows that are purgeable at all (published outbox rows,
// expired idempotency keys), never a live one. The function runs fixed statements (no dynamic
// SQL), takes at most 10 000 rows per call and refuses a period under one day.
import type { Migration } from '../migration.ts';
import { runtimeRole } from '../migration.ts';

export const retentionMigration: Migration = {
  id: '0003-kernel-retention',
  up: (h) => {
    const s = h.schema;
    const purgeable: Record<string, string> = {
      outbox: 'published_at IS NOT NULL',
      processed_events: 'true',
      dead_letters: 'true',
      idempotency_keys: 'expires_at <= now()',
    };
    return [
      `CREATE INDEX outbox_published ON ${s}.outbox (published_at) WHERE published_at IS NOT NULL`,
      `CREATE INDEX processed_events_processed_at ON ${s}.processed_events (processed_at)`,
      `CREATE INDEX dead_letters_settled_at ON ${s}.dead_letters ((coalesce(replayed_at, failed_at)))`,
      ...Object.entries(purgeable).flatMap(([table, predicate]) => [
        `CREATE POLICY kernel_retention_read ON ${s}.${table} FOR SELECT TO CURRENT_USER USING (${predicate})`,
        `CREATE POLICY kernel_retention_purge ON ${s}.${table} FOR DELETE TO CURRENT_USER USING (${predicate})`,
      ]),
      // Deletes at most p_limit rows of p_table that are past retention; returns how many.
      // 0 when another purge of the same table holds its lock (replicas do not queue up).
      `CREATE FUNCTION ${s}.kernel_purge(p_table text, p_older_than interval, p_limit int)
         RETURNS int LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
         DECLARE
           n int;
           cutoff timestamptz := now() - p_older_than;
           lim int := least(greatest(coalesce(p_limit, 1), 1), 10000);
         BEGIN
           IF p_older_than IS NULL OR p_older_than < interval '1 day' THEN
             RAISE EXCEPTION 'kernel_purge: the retention period must be at least one day (got %)', p_older_than;
           END IF;
           IF NOT pg_try_advisory_xact_lock(hashtextextended('lectern:retention:${s}:' || p_table, 0)) THEN
             RETURN 0;
           END IF;
           CASE p_table
             WHEN 'outbox' THEN
               DELETE FROM ${s}.outbox WHERE seq IN (
                 SELECT seq FROM ${s}.outbox WHERE published_at IS NOT NULL AND published_at < cutoff ORDER BY published_at LIMIT lim);
             WHEN 'processed_events' THEN
               DELETE FROM ${s}.processed_events WHERE (consumer, event_id) IN (
                 SELECT consumer, event_id FROM ${s}.processed_events WHERE processed_at < cutoff ORDER BY processed_at LIMIT lim);
             WHEN 'dead_letters' THEN
               DELETE FROM ${s}.dead_letters WHERE id IN (
                 SELECT id FROM ${s}.dead_letters WHERE coalesce(replayed_at, failed_at) < cutoff ORDER BY coalesce(replayed_at, failed_at) LIMIT lim);
             WHEN 'idempotency_keys' THEN
               -- expired keys go at once: an expired record is never answered again
               DELETE FROM ${s}.idempotency_keys WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM ${s}.idempotency_keys WHERE expires_at < now() ORDER BY expires_at LIMIT lim));
             ELSE
               RAISE EXCEPTION 'kernel_purge: % is not a kernel table', p_table;
           END CASE;
           GET DIAGNOSTICS n = ROW_COUNT;
           RETURN n;
         END
         $$`,
      `REVOKE ALL ON FUNCTION ${s}.kernel_purge(text, interval, int) FROM PUBLIC`,
      `GRANT EXECUTE ON FUNCTION ${s}.kernel_purge(text, interval, int) TO "${runtimeRole(s)}"`,
    ];
  },
};
