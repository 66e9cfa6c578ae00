// Kernel migration 0004: after Redis lost its data, the jobs the relay had already delivered
// (outbox rows marked published) but consumers had not run yet are gone. The worker's recovery
// (worker.ts, on RedisWatch `data-lost`) has the relay mark the rows it published lately as
// unpublished again, so it delivers them once more; consumers apply each event once anyway
// (processed_events), so an event delivered twice changes nothing.
// SECURITY INVOKER, executable only by the relay role, which may already read the outbox and
// set published_at (and nothing else); the statement is fixed, at most p_limit rows per call.
import type { Migration } from '../migration.ts';
import { OUTBOX_CHANNEL, RELAY_ROLE } from '../migration.ts';

export const republishMigration: Migration = {
  id: '0004-kernel-outbox-republish',
  up: (h) => {
    const s = h.schema;
    return [
      `CREATE FUNCTION ${s}.outbox_republish(p_since timestamptz, p_limit int)
         RETURNS int LANGUAGE plpgsql VOLATILE AS $$
         DECLARE n int;
         BEGIN
           UPDATE ${s}.outbox SET published_at = NULL WHERE seq IN (
             SELECT seq FROM ${s}.outbox WHERE published_at IS NOT NULL AND published_at >= p_since
              ORDER BY seq LIMIT least(greatest(coalesce(p_limit, 1), 1), 10000));
           GET DIAGNOSTICS n = ROW_COUNT;
           IF n > 0 THEN PERFORM pg_notify('${OUTBOX_CHANNEL}', '${s}'); END IF;
           RETURN n;
         END
         $$`,
      `REVOKE ALL ON FUNCTION ${s}.outbox_republish(timestamptz, int) FROM PUBLIC`,
      `GRANT EXECUTE ON FUNCTION ${s}.outbox_republish(timestamptz, int) TO ${RELAY_ROLE}`,
    ];
  },
};
