// Database bootstrap (roles, database, schemas), the forward-only migration runner
// and the RLS helpers. Bootstrap runs as a superuser once; migrations run as the
// owner role; subgraphs run as their own runtime role, which can touch nothing but
// the tables of its own schema and is subject to row-level security.
import pg from 'pg';
import type { Logger } from './logger.ts';
import { OUTBOX_CHANNEL, RELAY_ROLE, runtimeRole, type Migration, type MigrationHelpers } from './migration.ts';
import { retentionMigration } from './migrations/0003-kernel-retention.ts';
import { republishMigration } from './migrations/0004-kernel-outbox-republish.ts';
import { outboxTraceparentMigration } from './migrations/0005-kernel-outbox-traceparent.ts';

export { OUTBOX_CHANNEL, RELAY_ROLE, runtimeRole, type Migration, type MigrationHelpers };

export const OWNER_ROLE = 'lectern_owner';
/**
 * The outbox relay's role: BYPASSRLS, because it moves every tenant's events, but granted
 * nothing except reading and marking the outbox tables.
 */

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe SQL identifier: ${name}`);
  return `"${name}"`;
};
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Connection string for `database` on the server of `baseUrl`, as `user`. */
export function connectionString(baseUrl: string, opts: { user?: string; password?: string; database?: string }) {
  const url = new URL(baseUrl);
  if (opts.user !== undefined) url.username = encodeURIComponent(opts.user);
  if (opts.password !== undefined) url.password = encodeURIComponent(opts.password);
  if (opts.database !== undefined) url.pathname = `/${opts.database}`;
  return url.toString();
}

export const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface BootstrapOptions {
  adminUrl: string;
  database: string;
  ownerUser?: string;
  ownerPassword?: string | undefined;
  relayPassword?: string | undefined;
  subgraphs: { name: string; password?: string | undefined }[];
}

async function ensureRole(c: pg.Client, role: string, password: string | undefined, bypassRls = false) {
  const exists = await c.query('select 1 from pg_roles where rolname = $1', [role]);
  const pw = password ? ` PASSWORD ${literal(password)}` : '';
  const attrs = `LOGIN NOSUPERUSER ${bypassRls ? 'BYPASSRLS' : 'NOBYPASSRLS'} NOCREATEDB NOCREATEROLE${pw}`;
  await c.query(exists.rowCount ? `ALTER ROLE ${ident(role)} ${attrs}` : `CREATE ROLE ${ident(role)} ${attrs}`);
}

/** Creates (or repairs) the owner role, one runtime role per subgraph, the database and the schemas. Idempotent. */
export async function bootstrapDatabase(opts: BootstrapOptions): Promise<void> {
  const owner = opts.ownerUser ?? OWNER_ROLE;
  await withClient(opts.adminUrl, async (c) => {
    // Serialise concurrent bootstraps (several test workers, several replicas).
    await c.query('select pg_advisory_lock(7465401)');
    try {
      await ensureRole(c, owner, opts.ownerPassword);
      await ensureRole(c, RELAY_ROLE, opts.relayPassword, true);
      for (const s of opts.subgraphs) await ensureRole(c, runtimeRole(s.name), s.password);
      const db = await c.query('select 1 from pg_database where datname = $1', [opts.database]);
      if (!db.rowCount) await c.query(`CREATE DATABASE ${ident(opts.database)} OWNER ${ident(owner)}`);
    } finally {
      await c.query('select pg_advisory_unlock(7465401)');
    }
  });
  await withClient(connectionString(opts.adminUrl, { database: opts.database }), async (c) => {
    await c.query(`REVOKE ALL ON DATABASE ${ident(opts.database)} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(opts.database)} TO ${ident(owner)}`);
    await c.query(`GRANT CONNECT ON DATABASE ${ident(opts.database)} TO ${RELAY_ROLE}`);
    await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    for (const s of opts.subgraphs) {
      const role = runtimeRole(s.name);
      await c.query(`GRANT CONNECT ON DATABASE ${ident(opts.database)} TO ${ident(role)}`);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(s.name)} AUTHORIZATION ${ident(owner)}`);
      await c.query(`REVOKE ALL ON SCHEMA ${ident(s.name)} FROM PUBLIC`);
      await c.query(`GRANT USAGE ON SCHEMA ${ident(s.name)} TO ${ident(role)}, ${RELAY_ROLE}`);
      // Raw SQL of a subgraph names its own tables unqualified.
      await c.query(`ALTER ROLE ${ident(role)} SET search_path TO ${ident(s.name)}`);
    }
  });
}

/** SQLSTATE raised by idempotency_complete when the key has a live record (idempotency.ts). */
export const IDEMPOTENCY_CONFLICT = 'L0409';

export const TENANT_PREDICATE = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;

function helpersFor(schema: string): MigrationHelpers {
  return {
    schema,
    tenantTable(table) {
      const t = `${ident(schema)}.${ident(table)}`;
      return [
        `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`,
        `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`,
        `CREATE POLICY tenant_isolation ON ${t} USING (${TENANT_PREDICATE}) WITH CHECK (${TENANT_PREDICATE})`,
      ];
    },
  };
}

/** Tables every subgraph schema has, owned by the kernel. */
export const kernelMigrations: Migration[] = [
  {
    id: '0000-kernel-idempotency',
    up: (h) => [
      `CREATE TABLE ${h.schema}.idempotency_keys (
         tenant_id uuid,
         scope text NOT NULL,
         key text NOT NULL,
         fingerprint text NOT NULL,
         response jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         expires_at timestamptz NOT NULL
       )`,
      `CREATE UNIQUE INDEX idempotency_keys_uq ON ${h.schema}.idempotency_keys
         (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), scope, key)`,
      `CREATE INDEX idempotency_keys_expiry ON ${h.schema}.idempotency_keys (expires_at)`,
      `ALTER TABLE ${h.schema}.idempotency_keys ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${h.schema}.idempotency_keys FORCE ROW LEVEL SECURITY`,
      // Keys of anonymous callers (login) have no tenant; they are visible only without one.
      `CREATE POLICY tenant_isolation ON ${h.schema}.idempotency_keys
         USING (tenant_id IS NOT DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid)
         WITH CHECK (tenant_id IS NOT DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid)`,
    ],
  },
  {
    id: '0001-kernel-events',
    up: (h) => [
      // seq orders events as they were recorded; published_at marks delivery to BullMQ.
      `CREATE TABLE ${h.schema}.outbox (
         seq bigserial PRIMARY KEY,
         id uuid NOT NULL UNIQUE,
         tenant_id uuid,
         type text NOT NULL,
         version int NOT NULL,
         aggregate_type text NOT NULL,
         aggregate_id text NOT NULL,
         occurred_at timestamptz NOT NULL,
         payload jsonb NOT NULL,
         published_at timestamptz
       )`,
      `CREATE INDEX outbox_pending ON ${h.schema}.outbox (seq) WHERE published_at IS NULL`,
      `CREATE INDEX outbox_pending_aggregate ON ${h.schema}.outbox (aggregate_id, seq) WHERE published_at IS NULL`,
      ...nullableTenantPolicy(h.schema, 'outbox'),
      // What each consumer has applied, written in the same transaction as the effect.
      `CREATE TABLE ${h.schema}.processed_events (
         consumer text NOT NULL,
         event_id uuid NOT NULL,
         tenant_id uuid,
         processed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (consumer, event_id)
       )`,
      ...nullableTenantPolicy(h.schema, 'processed_events'),
      `CREATE TABLE ${h.schema}.dead_letters (
         id uuid PRIMARY KEY,
         tenant_id uuid,
         queue text NOT NULL,
         job_id text NOT NULL,
         job_name text NOT NULL,
         payload jsonb NOT NULL,
         error text NOT NULL,
         attempts int NOT NULL,
         failed_at timestamptz NOT NULL DEFAULT now(),
         replayed_at timestamptz,
         replay_count int NOT NULL DEFAULT 0,
         UNIQUE (queue, job_id)
       )`,
      ...nullableTenantPolicy(h.schema, 'dead_letters'),
    ],
  },
  {
    // The idempotency and outbox rules as SQL functions, so the kernel's TypeScript
    // (idempotency.ts, outbox.ts) and a subgraph's own hot-path function (one round trip) run
    // the same rule. SECURITY INVOKER: RLS applies to the caller as to any statement.
    id: '0002-kernel-functions',
    up: (h) => [
      // The key's transaction-scoped lock, taken without waiting, and its live record (if the
      // lock was had). See idempotency.ts for the rule.
      `CREATE FUNCTION ${h.schema}.idempotency_claim(p_tenant uuid, p_scope text, p_key text)
         RETURNS TABLE (locked boolean, fingerprint text, response jsonb)
         LANGUAGE sql VOLATILE AS $$
           select l.locked, k.fingerprint, k.response
             from (select pg_try_advisory_xact_lock(hashtextextended(coalesce(p_tenant::text, '-') || ':' || p_scope || ':' || p_key, 0)) as locked) l
             left join ${h.schema}.idempotency_keys k
               on l.locked and k.tenant_id is not distinct from p_tenant and k.scope = p_scope and k.key = p_key and k.expires_at > now()
         $$`,
      // The key's record: inserted, or in place of an expired one; a live one is never replaced,
      // and meeting one raises ${IDEMPOTENCY_CONFLICT} (the caller's transaction rolls back).
      `CREATE FUNCTION ${h.schema}.idempotency_complete(p_tenant uuid, p_scope text, p_key text, p_fingerprint text, p_response jsonb, p_ttl_hours int)
         RETURNS void LANGUAGE plpgsql VOLATILE AS $$
         BEGIN
           insert into ${h.schema}.idempotency_keys as k (tenant_id, scope, key, fingerprint, response, expires_at)
           values (p_tenant, p_scope, p_key, p_fingerprint, p_response, now() + make_interval(hours => p_ttl_hours))
           on conflict ((coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), scope, key) do update
             set fingerprint = excluded.fingerprint, response = excluded.response, created_at = now(), expires_at = excluded.expires_at
             where k.expires_at <= now();
           IF NOT FOUND THEN
             RAISE EXCEPTION 'idempotency key % already has a live record', p_key USING ERRCODE = '${IDEMPOTENCY_CONFLICT}';
           END IF;
         END
         $$`,
      // One event into the outbox, and the relays' wake-up (delivered only if the transaction commits).
      `CREATE FUNCTION ${h.schema}.outbox_record(p_id uuid, p_tenant uuid, p_type text, p_version int, p_aggregate_type text, p_aggregate_id text, p_occurred_at timestamptz, p_payload jsonb)
         RETURNS void LANGUAGE plpgsql VOLATILE AS $$
         BEGIN
           insert into ${h.schema}.outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload)
           values (p_id, p_tenant, p_type, p_version, p_aggregate_type, p_aggregate_id, p_occurred_at, p_payload);
           PERFORM pg_notify('${OUTBOX_CHANNEL}', '${h.schema}');
         END
         $$`,
    ],
  },
  // Retention's purge function: migrations/0003-kernel-retention.ts (read it there).
  retentionMigration,
  // The relay's re-delivery after Redis lost its data: migrations/0004-kernel-outbox-republish.ts.
  republishMigration,
  // An event's trace context: migrations/0005-kernel-outbox-traceparent.ts.
  outboxTraceparentMigration,
];

/** RLS for kernel tables whose rows may belong to no tenant (visible only without one). */
function nullableTenantPolicy(schema: string, table: string): string[] {
  const predicate = `tenant_id IS NOT DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid`;
  return [
    `ALTER TABLE ${schema}.${table} ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE ${schema}.${table} FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY tenant_isolation ON ${schema}.${table} USING (${predicate}) WITH CHECK (${predicate})`,
  ];
}

export interface MigrateOptions {
  /** Owner connection string to the Lectern database. */
  ownerUrl: string;
  schema: string;
  migrations: Migration[];
  log?: Pick<Logger, 'info'>;
}

/** Applies pending migrations in order, each in its own transaction, then (re)grants the runtime role. */
export async function migrate(opts: MigrateOptions): Promise<string[]> {
  const all = [...kernelMigrations, ...opts.migrations];
  const s = ident(opts.schema);
  const role = ident(runtimeRole(opts.schema));
  const applied: string[] = [];
  await withClient(opts.ownerUrl, async (c) => {
    await c.query('select pg_advisory_lock(hashtext($1))', [`lectern:migrate:${opts.schema}`]);
    try {
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set((await c.query(`select id from ${s}.schema_migrations`)).rows.map((r) => r.id as string));
      const helpers = helpersFor(opts.schema);
      for (const m of all) {
        if (done.has(m.id)) continue;
        await c.query('BEGIN');
        try {
          // Unqualified names in a migration mean its own schema.
          await c.query(`SET LOCAL search_path TO ${s}`);
          for (const sql of m.up(helpers)) await c.query(sql);
          await c.query(`insert into ${s}.schema_migrations (id) values ($1)`, [m.id]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK');
          throw new Error(`migration ${opts.schema}/${m.id} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.id);
        opts.log?.info({ schema: opts.schema, migration: m.id }, 'migration applied');
      }
      await c.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
      await c.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${s} TO ${role}`);
      await c.query(`REVOKE INSERT, UPDATE, DELETE ON ${s}.schema_migrations FROM ${role}`);
      await c.query(`GRANT SELECT, UPDATE (published_at) ON ${s}.outbox TO ${RELAY_ROLE}`);
    } finally {
      await c.query('select pg_advisory_unlock(hashtext($1))', [`lectern:migrate:${opts.schema}`]);
    }
  });
  return applied;
}

/** Ids of migrations in code that the database has not applied (readiness check). */
export async function pendingMigrations(query: (sql: string) => Promise<{ id: string }[]>, schema: string, migrations: Migration[]) {
  const rows = await query(`select id from ${ident(schema)}.schema_migrations`);
  const done = new Set(rows.map((r) => r.id));
  return [...kernelMigrations, ...migrations].map((m) => m.id).filter((id) => !done.has(id));
}

/**
 * Tables in `schema` that have a tenant_id column but lack ENABLE + FORCE RLS or a policy
 * with both USING and WITH CHECK. A test asserts this is empty for every subgraph.
 */
export async function tenantTablesWithoutRls(c: pg.Client | pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await c.query(
    `select c.relname,
            c.relrowsecurity and c.relforcerowsecurity as forced,
            exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polqual is not null and p.polwithcheck is not null) as policy
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind = 'r'
        and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)`,
    [schema],
  );
  return rows.filter((r) => !r.forced || !r.policy).map((r) => r.relname as string);
}

export { withClient };

/** One line naming what to do, for the usual reasons a database connection fails at start. */
export function explainDatabaseError(err: unknown, databaseUrl: string): string {
  const chain: { code?: string; message?: string }[] = [];
  for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined; e && chain.length < 5; e = e.cause as typeof e) chain.push(e);
  const host = new URL(databaseUrl).host;
  if (chain.some((e) => e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e.message ?? ''))) {
    return `PostgreSQL is not answering at ${host}: start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or docker compose up -d postgres) or set DATABASE_URL`;
  }
  if (chain.some((e) => e.code === '3D000' || e.code === '28000' || /(role|database) "[^"]+" does not exist/.test(e.message ?? ''))) {
    return `the Lectern database at ${host} is not set up: run pnpm db:bootstrap && pnpm db:migrate (pnpm dev does both)`;
  }
  return chain[0]?.message ?? String(err);
}
