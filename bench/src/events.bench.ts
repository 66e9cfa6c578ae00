// Events through outbox → relay → BullMQ → consumer, on real PostgreSQL and Redis, using the
// kernel's test context (one tenant table, one event, a handler whose effect is a row).
// Phase 1: throughput with 4 writers as fast as they go. Phase 2: latency under light load.
import os from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { bootstrapDatabase, connectionString, migrate, RELAY_ROLE, withClient } from '@lectern/kernel/db';
import { createOrm } from '@lectern/kernel/orm';
import { inTenant } from '@lectern/kernel';
import { recordEvent } from '@lectern/kernel/outbox';
import { OutboxRelay } from '@lectern/kernel/relay';
import { startConsumer } from '@lectern/kernel/consumers';
import { bullPrefix, eventQueueName, queueFactory, workerConnection } from '@lectern/kernel/queues';
import { createLogger } from '@lectern/kernel/logger';
import { ADMIN_URL } from '@lectern/testkit';
import { entities, handler, migrations, Note, NoteWritten, SCHEMA } from '../../packages/kernel/test/fixtures/events-schema.ts';
import { benchEnv } from './env.ts';

const REDIS = 'redis://127.0.0.1:6379';

export async function eventsBench() {
  const database = `lectern_bench_events_${randomBytes(4).toString('hex')}`;
  await bootstrapDatabase({ adminUrl: ADMIN_URL, database, subgraphs: [{ name: SCHEMA }] });
  await migrate({ ownerUrl: connectionString(ADMIN_URL, { user: 'lectern_owner', database }), schema: SCHEMA, migrations });
  const dbUrl = connectionString(ADMIN_URL, { user: '', database });
  const orm = await createOrm({ databaseUrl: dbUrl, schema: SCHEMA, entities, poolMax: 10 });
  const log = createLogger('bench', 'silent');
  const prefix = bullPrefix(`lectern:bench:${database}:`);
  const queueConnection = workerConnection(REDIS);
  const queues = queueFactory(queueConnection, prefix);
  const relay = new OutboxRelay({ url: connectionString(ADMIN_URL, { user: RELAY_ROLE, database }), schema: SCHEMA, routes: { NoteWritten: [SCHEMA] }, queue: queues, log });
  const consumerConnection = workerConnection(REDIS);
  const worker = startConsumer({ consumer: SCHEMA, handlers: [handler], orm, connection: consumerConnection, prefix, log, concurrency: 8 });
  const admin = new pg.Pool({ connectionString: connectionString(ADMIN_URL, { database }), max: 2 });
  const tenant = randomUUID();
  const write = () =>
    inTenant(orm, tenant, (uow) =>
      uow.write(async (em) => {
        const note = em.create(Note, { tenantId: tenant, body: 'bench' });
        await em.flush();
        await recordEvent(em, NoteWritten, { tenantId: tenant, aggregateId: note.id, payload: { noteId: note.id } });
      }),
    );
  const applied = async () => Number((await admin.query(`select count(*) from ${SCHEMA}.effects`)).rows[0].count);
  const waitFor = async (n: number, timeoutMs = 120_000) => {
    const end = Date.now() + timeoutMs;
    while ((await applied()) < n) {
      if (Date.now() > end) throw new Error(`only ${await applied()} of ${n} events applied in time`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const latency = async (since: number) => {
    const { rows } = await admin.query(
      `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99, max(ms) as max
         from (select extract(epoch from (e.applied_at - o.occurred_at)) * 1000 as ms
                 from ${SCHEMA}.effects e join ${SCHEMA}.outbox o on o.id = e.event_id where e.id > $1) x`,
      [since],
    );
    return { p50: Math.round(rows[0].p50), p99: Math.round(rows[0].p99), max: Math.round(rows[0].max) };
  };
  try {
    await relay.start();
    await worker.waitUntilReady();
    const total = benchEnv.BENCH_EVENTS;
    console.log(`events bench: phase 1, ${total} events from 4 writers as fast as they go`);
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < total) await write();
    }));
    const written = performance.now();
    await waitFor(total);
    const done = performance.now();
    const throughput = { events: total, writeSeconds: (written - started) / 1000, endToEndSeconds: (done - started) / 1000, eventsPerSecond: total / ((done - started) / 1000), latencyMs: await latency(0) };
    console.log(`  ${throughput.eventsPerSecond.toFixed(0)} events/s end to end (written in ${throughput.writeSeconds.toFixed(1)} s, all applied after ${throughput.endToEndSeconds.toFixed(1)} s); latency p50 ${throughput.latencyMs.p50} ms, p99 ${throughput.latencyMs.p99} ms`);
    const lightCount = 200;
    const rate = 20;
    console.log(`events bench: phase 2, ${lightCount} events at ${rate}/s (light load)`);
    const maxId = Number((await admin.query(`select coalesce(max(id), 0) as m from ${SCHEMA}.effects`)).rows[0].m);
    for (let i = 0; i < lightCount; i++) {
      const t0 = performance.now();
      await write();
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 / rate - (performance.now() - t0))));
    }
    await waitFor(total + lightCount);
    const light = { events: lightCount, ratePerSecond: rate, latencyMs: await latency(maxId) };
    console.log(`  latency p50 ${light.latencyMs.p50} ms, p99 ${light.latencyMs.p99} ms, max ${light.latencyMs.max} ms (target: p99 < 1000 ms)`);
    const duplicates = Number((await admin.query(`select count(*) from (select event_id from ${SCHEMA}.effects group by event_id having count(*) > 1) d`)).rows[0].count);
    console.log(`  effects applied twice: ${duplicates}`);
    return { bench: 'events', at: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, throughput, light, duplicates };
  } finally {
    await worker.close();
    await relay.stop();
    await queues(eventQueueName(SCHEMA)).obliterate({ force: true }).catch(() => {});
    await queues.close();
    consumerConnection.disconnect();
    queueConnection.disconnect();
    await admin.end();
    await orm.close();
    await withClient(ADMIN_URL, async (c) => {
      await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
      await c.query(`DROP DATABASE IF EXISTS ${database}`);
    });
  }
}
