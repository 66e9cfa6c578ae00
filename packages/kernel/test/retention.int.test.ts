// Retention (retention.ts, migrations/0003-kernel-retention.ts) on real PostgreSQL and Redis:
// what is past the period goes, in batches, across every organization, through a function only
// the subgraph's runtime role may run; what is newer, unpublished or still live stays.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { until } from '@lectern/testkit';
import { bootstrapDatabase, connectionString, migrate, RELAY_ROLE, runtimeRole, withClient } from '../src/db.ts';
import { createOrm, type MikroORM } from '../src/orm.ts';
import { purgeExpired, retentionEnv, retentionSettings } from '../src/retention.ts';
import { createLogger } from '../src/logger.ts';
import { entities, migrations, SCHEMA } from './fixtures/events-schema.ts';

const ADMIN = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const database = `lectern_test_retention_${randomBytes(4).toString('hex')}`;
const prefix = `lectern-test-${database}`;
const log = createLogger('test', 'silent');
const A = randomUUID();
const B = randomUUID();

let orm: MikroORM;
let admin: pg.Pool;
let redis: Redis;
const asRole = (role: string) => new pg.Client({ connectionString: connectionString(ADMIN, { user: role, database }) });

beforeAll(async () => {
  await bootstrapDatabase({ adminUrl: ADMIN, database, subgraphs: [{ name: SCHEMA }] });
  await migrate({ ownerUrl: connectionString(ADMIN, { user: 'lectern_owner', database }), schema: SCHEMA, migrations });
  orm = await createOrm({ databaseUrl: connectionString(ADMIN, { user: '', database }), schema: SCHEMA, entities });
  admin = new pg.Pool({ connectionString: connectionString(ADMIN, { database }), max: 2 });
  redis = new Redis(REDIS, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await orm?.close();
  await admin?.end();
  await withClient(ADMIN, async (c) => {
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
    await c.query(`DROP DATABASE IF EXISTS ${database}`);
  });
});

/** Rows of every kind, for A, B and no tenant, old and new; returns the ids that must stay. */
async function plant() {
  const outbox = (tenant: string | null, publishedAgo: string | null, label: string) =>
    admin.query(
      `insert into ${SCHEMA}.outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload, published_at)
       values ($1, $2, 'NoteWritten', 1, 'note', $3, now() - interval '30 days', '{}', ${publishedAgo === null ? 'null' : `now() - interval '${publishedAgo}'`}) returning id`,
      [randomUUID(), tenant, label],
    );
  for (const t of [A, B, null]) for (let i = 0; i < 2; i++) await outbox(t, '20 days', 'old-published');
  await outbox(A, '13 days', 'recent-published');
  await outbox(B, null, 'old-unpublished');
  const processed = (tenant: string | null, ago: string) =>
    admin.query(`insert into ${SCHEMA}.processed_events (consumer, event_id, tenant_id, processed_at) values ('c', $1, $2, now() - $3::interval)`, [randomUUID(), tenant, ago]);
  for (const t of [A, B, null]) await processed(t, '15 days');
  await processed(B, '1 hour');
  const letter = (tenant: string | null, failedAgo: string, replayedAgo: string | null, jobId: string) =>
    admin.query(
      `insert into ${SCHEMA}.dead_letters (id, tenant_id, queue, job_id, job_name, payload, error, attempts, failed_at, replayed_at)
       values ($1, $2, 'q', $3, 'j', '{}', 'boom', 8, now() - $4::interval, now() - $5::interval)`,
      [randomUUID(), tenant, jobId, failedAgo, replayedAgo],
    );
  await letter(A, '20 days', null, 'old-a');
  await letter(B, '20 days', null, 'old-b');
  await letter(A, '20 days', '2 days', 'replayed-lately');
  await letter(B, '3 days', null, 'recent');
  const key = (tenant: string | null, expires: string, k: string) =>
    admin.query(
      `insert into ${SCHEMA}.idempotency_keys (tenant_id, scope, key, fingerprint, response, created_at, expires_at) values ($1, 's', $2, 'f', '{}', now() - interval '30 days', now() + $3::interval)`,
      [tenant, k, expires],
    );
  await key(A, '-1 minute', 'expired-a');
  await key(null, '-2 days', 'expired-anonymous');
  await key(B, '1 hour', 'live-b');
  await key(null, '10 minutes', 'live-anonymous');
}

const remaining = async () => ({
  outbox: (await admin.query(`select aggregate_id from ${SCHEMA}.outbox order by aggregate_id`)).rows.map((r) => r.aggregate_id),
  processed: (await admin.query(`select tenant_id from ${SCHEMA}.processed_events`)).rows.map((r) => r.tenant_id),
  letters: (await admin.query(`select job_id from ${SCHEMA}.dead_letters order by job_id`)).rows.map((r) => r.job_id),
  keys: (await admin.query(`select key from ${SCHEMA}.idempotency_keys order by key`)).rows.map((r) => r.key),
});

describe('retention', () => {
  it('parses its settings with zod, with defaults, and refuses a period under a day', () => {
    expect(retentionSettings({})).toEqual({ RETENTION_DAYS: 14, RETENTION_INTERVAL_MINUTES: 60, RETENTION_BATCH_SIZE: 1000 });
    expect(retentionEnv.parse({ RETENTION_DAYS: '30', RETENTION_BATCH_SIZE: '50' })).toMatchObject({ RETENTION_DAYS: 30, RETENTION_BATCH_SIZE: 50 });
    expect(() => retentionEnv.parse({ RETENTION_DAYS: '0' })).toThrow();
  });

  it('purges, as the runtime role and in batches, every organization’s rows past the period and keeps the rest; a second pass removes nothing', async () => {
    await plant();
    const settings = retentionSettings({ RETENTION_DAYS: '14', RETENTION_BATCH_SIZE: '2' });
    const counts = await purgeExpired({ orm, schema: SCHEMA, queues: [], days: settings.RETENTION_DAYS, batchSize: settings.RETENTION_BATCH_SIZE, log });
    expect(counts).toEqual({ outbox: 6, processed_events: 3, dead_letters: 2, idempotency_keys: 2, failedJobs: 0 });
    expect(await remaining()).toEqual({
      outbox: ['old-unpublished', 'recent-published'],
      processed: [B],
      letters: ['recent', 'replayed-lately'],
      keys: ['live-anonymous', 'live-b'],
    });
    expect(await purgeExpired({ orm, schema: SCHEMA, queues: [], days: 14, batchSize: 2 })).toEqual({ outbox: 0, processed_events: 0, dead_letters: 0, idempotency_keys: 0, failedJobs: 0 });
  });

  it('does not widen anyone’s rights: only the runtime role may purge, never under a day, only kernel tables; the runtime role still sees one tenant', async () => {
    const relay = asRole(RELAY_ROLE);
    await relay.connect();
    await expect(relay.query(`select ${SCHEMA}.kernel_purge('outbox', interval '14 days', 10)`)).rejects.toThrow(/permission denied for function kernel_purge/);
    await relay.end();
    const runtime = asRole(runtimeRole(SCHEMA));
    await runtime.connect();
    try {
      await expect(runtime.query(`select ${SCHEMA}.kernel_purge('outbox', interval '1 hour', 10)`)).rejects.toThrow(/at least one day/);
      await expect(runtime.query(`select ${SCHEMA}.kernel_purge('notes', interval '14 days', 10)`)).rejects.toThrow(/not a kernel table/);
      // without a tenant the runtime role sees only rows of no tenant (the retention policies are the owner's)
      await admin.query(`insert into ${SCHEMA}.outbox (id, tenant_id, type, version, aggregate_type, aggregate_id, occurred_at, payload, published_at) values ($1, $2, 'NoteWritten', 1, 'note', 'x', now(), '{}', now() - interval '40 days')`, [randomUUID(), A]);
      const seen = await runtime.query(`select count(*)::int as n from ${SCHEMA}.outbox where tenant_id is not null`);
      expect(seen.rows[0].n).toBe(0);
      const deleted = await runtime.query(`delete from ${SCHEMA}.outbox where published_at < now() - interval '14 days'`);
      expect(deleted.rowCount).toBe(0);
    } finally {
      await runtime.end();
    }
    expect((await admin.query(`select count(*)::int as n from ${SCHEMA}.outbox where tenant_id = $1 and aggregate_id = 'x'`, [A])).rows[0].n).toBe(1);
  });

  it('removes the queues’ exhausted failed jobs older than the period and keeps newer ones', async () => {
    const connection = new Redis(REDIS, { maxRetriesPerRequest: null });
    const workerConnection = new Redis(REDIS, { maxRetriesPerRequest: null });
    const queue = new Queue('events-retention', { connection, prefix });
    const worker = new Worker(
      'events-retention',
      async () => {
        throw new Error('always fails');
      },
      { connection: workerConnection, prefix },
    );
    try {
      await queue.add('x', {}, { jobId: 'old', attempts: 1 });
      await queue.add('x', {}, { jobId: 'new', attempts: 1 });
      await until(() => queue.getFailedCount(), (n) => n === 2);
      // the first failed 20 days ago (the failed set is scored by finish time)
      await redis.zadd(`${prefix}:events-retention:failed`, 'XX', Date.now() - 20 * 24 * 3600 * 1000, 'old');
      const counts = await purgeExpired({ orm, schema: SCHEMA, queues: [queue], days: 14, batchSize: 100 });
      expect(counts.failedJobs).toBe(1);
      expect((await queue.getFailed()).map((j) => j.id)).toEqual(['new']);
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
      workerConnection.disconnect();
    }
  });
});
