// What a migration is, and the role and channel names the kernel's own migrations share with
// db.ts (which runs them): its own module, so migrations/ need not import db.ts.

/** The outbox relay's role: BYPASSRLS, but may only read and mark outbox tables. */
export const RELAY_ROLE = 'lectern_relay';
/** A subgraph's runtime role (not owner, not superuser, not BYPASSRLS). */
export const runtimeRole = (subgraph: string) => `lectern_${subgraph}`;
/** The channel outbox_record notifies (the relays LISTEN on it; payload: the schema). */
export const OUTBOX_CHANNEL = 'lectern_outbox';
/** The transaction-local setting outbox_record's traceparent defaults to (uow.statement sets it while tracing). */
export const TRACEPARENT_SETTING = 'lectern.traceparent';

export interface MigrationHelpers {
  schema: string;
  /** ENABLE + FORCE row-level security and the tenant policy (USING and WITH CHECK) on `table`. */
  tenantTable(table: string): string[];
}

export interface Migration {
  id: string;
  up(h: MigrationHelpers): string[];
}
