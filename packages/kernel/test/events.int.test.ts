// DESIGN rule 5 end to end on real PostgreSQL and Redis: outbox → relay → BullMQ → consumer.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue, type Job, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { until } from '@lectern/testkit';
import { bootstrapDatabase, connectionString, migrate, RELAY_ROLE, withClient } from '../src/db.ts';
import { createOrm, type MikroORM } from '../src/orm.ts';
import { inTenant } from '../src/uow.ts';
import { recordEvent } from '../src/outbox.ts';
import { OutboxRelay } from '../src/relay.ts';
import { listDeadLetters, replayDeadLetter, startConsumer } from '../src/consumers.ts';
import { assertNoEviction, enqueueNow, eventQueueName, producerConnection, queueFactory, workerConnection, type QueueFactory } from '../src/queues.ts';
import { createLogger } from '../src/logger.ts';
import { entities, handler, migrations, Note, NoteWritten, SCHEMA, state } from './fixtures/events-schema.ts';

const ADMIN = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const database = `lectern_test_events_${randomBytes(4).toString('hex')}`;
const prefix = `lectern-test-${database}`;
const log = createLogger('test', 'silent');
const A = randomUUID();
const B = randomUUID();
const FAST = { attempts: 3, backoff: { type: 'exponential', delay: 30, jitter: 0.5 }, removeOnComplete: true, removeOnFail: false } as const;
const routes = { NoteWritten: [SCHEMA] };

let orm: MikroORM;
let dbUrl: string;
let relayUrl: string;
let queues: QueueFactory;
let admin: pg.Pool;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await bootstrapDatabase({ adminUrl: ADMIN, database, subgraphs: [{ name: SCHEMA }] });
  await migrate({ ownerUrl: connectionString(ADMIN, { user: 'lectern_owner', database }), schema: SCHEMA, migrations });
  dbUrl = connectionString(ADMIN, { user: '', database });
  relayUrl = connectionString(ADMIN, { user: RELAY_ROLE, database });
  orm = await createOrm({ databaseUrl: dbUrl, schema: SCHEMA, entities });
  queues = queueFactory(workerConnection(REDIS), prefix, FAST);
  admin = new pg.Pool({ connectionString: connectionString(ADMIN, { database }), max: 2 });
});
/** Runs the test's cleanups, newest first (tests that stop a Redis run them while it is still up). */
async function runCleanups() {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
}
afterEach(async () => {
  await runCleanups();
  state.fixed = false;
  await queues(eventQueueName(SCHEMA)).obliterate({ force: true });
});
afterAll(async () => {
  await queues?.close();
  await orm?.close();
  await admin?.end();
  await withClient(ADMIN, async (c) => {
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
    await c.query(`DROP DATABASE IF EXISTS ${database}`);
  });
});

/** Writes a note and its event in one transaction, as a service would. */
async function writeNote(tenantId: string, extra: Record<string, unknown> = {}, fail = false) {
  return inTenant(orm, tenantId, (uow) =>
    uow.write(async (em) => {
      const note = em.create(Note, { tenantId, body: 'hello' });
      await em.flush();
      const event = await recordEvent(em, NoteWritten, { tenantId, aggregateId: note.id, payload: { noteId: note.id, ...extra } });
      if (fail) throw new Error('the change fails after recording its event');
      return event;
    }),
  );
}

function relay(overrides: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) {
  const r = new OutboxRelay({ url: relayUrl, schema: SCHEMA, routes, queue: queues, log, pollMs: 50, ...overrides });
  return r;
}

function consumer(connection = workerConnection(REDIS)): Worker {
  const w = startConsumer({ consumer: SCHEMA, handlers: [handler], orm, connection, prefix, log, lockDuration: 1500, stalledInterval: 500 });
  cleanups.push(async () => {
    await w.close();
    connection.disconnect();
  });
  return w;
}

const effects = async (eventId?: string) =>
  (await admin.query(`select event_id, seen_notes, tenant_id from ${SCHEMA}.effects ${eventId ? 'where event_id = $1' : ''}`, eventId ? [eventId] : [])).rows;

/** Resolves when `w` has completed the job `jobId` (call it before the job can run). */
function completed(w: Worker, jobId: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (job: Job) => {
      if (job.id !== jobId) return;
      w.off('completed', on);
      resolve();
    };
    w.on('completed', on);
  });
}

describe('outbox', () => {
  it('stores an event if and only if its transaction commits', async () => {
    const committed = await writeNote(A);
    await expect(writeNote(A, {}, true)).rejects.toThrow('the change fails');
    const { rows } = await admin.query(`select id, payload from ${SCHEMA}.outbox where tenant_id = $1`, [A]);
    expect(rows.map((r) => r.id)).toEqual([committed.id]);
    expect(rows[0].payload).toEqual({ noteId: committed.aggregateId });
  });

  it('refuses payloads its contract does not allow (no personal data slips in)', async () => {
    await expect(writeNote(A, { email: 'someone@example.com' })).rejects.toThrow();
  });

  it('is under RLS: a tenant sees only its own events; the relay role sees all but nothing else', async () => {
    await writeNote(A);
    await writeNote(B);
    const seenByB = await inTenant(orm, B, async (uow) => (await uow.em()).execute<{ tenant_id: string }[]>(`select tenant_id from ${SCHEMA}.outbox`));
    expect(new Set(seenByB.map((r) => r.tenant_id))).toEqual(new Set([B]));
    const asRelay = new pg.Client({ connectionString: relayUrl });
    await asRelay.connect();
    const all = await asRelay.query(`select distinct tenant_id from ${SCHEMA}.outbox`);
    expect(all.rows.length).toBeGreaterThanOrEqual(2);
    await expect(asRelay.query(`select * from ${SCHEMA}.notes`)).rejects.toThrow(/permission denied/);
    await expect(asRelay.query(`delete from ${SCHEMA}.outbox`)).rejects.toThrow(/permission denied/);
    await asRelay.end();
  });
});

describe('relay and consumers', () => {
  it('delivers an event to its consumer, which applies it once in the event’s tenant', async () => {
    await admin.query(`update ${SCHEMA}.outbox set published_at = now()`);
    const event = await writeNote(A);
    const r = relay();
    await r.start();
    cleanups.push(() => r.stop());
    consumer();
    const rows = await until(() => effects(event.id), (x) => x.length > 0);
    expect(rows).toEqual([{ event_id: event.id, seen_notes: expect.any(Number), tenant_id: A }]);
  });

  it('delivers again after a relay crash between enqueue and mark, and the effect still happens once', async () => {
    await admin.query(`update ${SCHEMA}.outbox set published_at = now()`);
    const w = consumer();
    const event = await writeNote(A);
    let crashes = 0;
    const crashing = relay({
      afterEnqueue: async () => {
        // let the consumer apply this delivery (its job is then removed), then die before marking
        await until(() => effects(event.id), (x) => x.length === 1);
        crashes++;
        throw new Error('relay killed');
      },
    });
    await expect(crashing.drain()).rejects.toThrow('relay killed');
    await crashing.stop();
    expect(crashes).toBe(1);
    const { rows } = await admin.query(`select published_at from ${SCHEMA}.outbox where id = $1`, [event.id]);
    expect(rows[0].published_at).toBeNull();
    // a second relay delivers it again; processed_events keeps the effect single
    const redelivered = completed(w, event.id);
    const healthy = relay();
    expect(await healthy.drain()).toBeGreaterThanOrEqual(1);
    await healthy.stop();
    await redelivered;
    expect(await effects(event.id)).toHaveLength(1);
    const processed = await admin.query(`select count(*)::int as n from ${SCHEMA}.processed_events where event_id = $1`, [event.id]);
    expect(processed.rows[0].n).toBe(1);
  });

  it('reruns a job whose worker was SIGKILLed mid-job, once its lock expires; the effect happens once', async () => {
    await admin.query(`update ${SCHEMA}.outbox set published_at = now()`);
    const child: ChildProcess = spawn(process.execPath, [new URL('./fixtures/consumer-child.ts', import.meta.url).pathname, dbUrl, REDIS, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(async () => child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await until(async () => out, (o) => o.includes('ready'));
    const event = await writeNote(A, { slowMs: 4000 });
    const r = relay();
    await r.drain();
    await r.stop();
    await until(async () => out, (o) => o.includes(`active ${event.id}`));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await effects(event.id)).toHaveLength(0);
    await completed(consumer(), event.id); // the new consumer reran the job the killed one held
    expect(await effects(event.id)).toHaveLength(1);
  }, 40_000);

  it('retries a handler that throws on a poison payload, dead-letters it, and applies it once when replayed after a fix', async () => {
    await admin.query(`update ${SCHEMA}.outbox set published_at = now()`);
    const w = consumer();
    const failures: number[] = [];
    w.on('failed', (job) => failures.push(job?.attemptsMade ?? -1));
    const event = await writeNote(A, { poison: true });
    const r = relay();
    await r.drain();
    await r.stop();
    const dead = await until(() => inTenant(orm, A, async (uow) => listDeadLetters(await uow.em(), uow.tenantId)), (d) => d.some((x) => x.jobId === event.id));
    // The letter is recorded by the last attempt itself, before BullMQ reports that attempt failed.
    await until(async () => failures.length, (n) => n >= 3);
    expect(failures).toEqual([1, 2, 3]);
    const letter = dead.find((x) => x.jobId === event.id)!;
    expect(letter).toMatchObject({ queue: eventQueueName(SCHEMA), jobName: 'NoteWritten', attempts: 3, error: 'poison payload', tenantId: A });
    // another tenant does not see it
    expect(await inTenant(orm, B, async (uow) => listDeadLetters(await uow.em(), uow.tenantId))).toEqual([]);
    expect(await effects(event.id)).toHaveLength(0);
    state.fixed = true;
    expect(await inTenant(orm, B, async (uow) => replayDeadLetter(await uow.em(), uow.tenantId, letter.id, queues))).toBe(false);
    expect(await inTenant(orm, A, async (uow) => replayDeadLetter(await uow.em(), uow.tenantId, letter.id, queues))).toBe(true);
    await until(() => effects(event.id), (x) => x.length === 1);
    // replaying again changes nothing: the event was applied
    const second = completed(w, `${event.id}-replay-2`);
    await inTenant(orm, A, async (uow) => replayDeadLetter(await uow.em(), uow.tenantId, letter.id, queues));
    await second;
    expect(await effects(event.id)).toHaveLength(1);
  });

  it('dead-letters an invalid payload at once (UnrecoverableError), without retries', async () => {
    const w = consumer();
    const attempts: number[] = [];
    w.on('failed', (job) => attempts.push(job?.attemptsMade ?? -1));
    const id = randomUUID();
    await queues(eventQueueName(SCHEMA)).add('NoteWritten', { id, type: 'NoteWritten', version: 1, tenantId: A, aggregateId: 'x', occurredAt: new Date().toISOString(), payload: { noteId: 'not-a-uuid' } }, { jobId: id });
    const dead = await until(() => inTenant(orm, A, async (uow) => listDeadLetters(await uow.em(), uow.tenantId)), (d) => d.some((x) => x.jobId === id));
    expect(attempts).toEqual([1]);
    expect(dead.find((x) => x.jobId === id)!.error).toMatch(/invalid NoteWritten payload/);
  });

  it('keeps handlers inside the event’s tenant: RLS hides and refuses other tenants’ rows in workers', async () => {
    await admin.query(`update ${SCHEMA}.outbox set published_at = now()`);
    const bNotes = (await admin.query(`select count(*)::int as n from ${SCHEMA}.notes where tenant_id = $1`, [B])).rows[0].n;
    const aNotes = (await admin.query(`select count(*)::int as n from ${SCHEMA}.notes where tenant_id = $1`, [A])).rows[0].n + 1;
    expect(bNotes).toBeGreaterThan(0);
    consumer();
    const event = await writeNote(A);
    const r = relay();
    await r.drain();
    const [row] = await until(() => effects(event.id), (x) => x.length > 0);
    expect(row.seen_notes).toBe(aNotes); // A's notes only, none of B's
    const planted = await writeNote(A, { plantFor: B });
    await r.drain();
    await r.stop();
    const dead = await until(() => inTenant(orm, A, async (uow) => listDeadLetters(await uow.em(), uow.tenantId)), (d) => d.some((x) => x.jobId === planted.id), 20_000);
    expect(dead.find((x) => x.jobId === planted.id)!.error).toMatch(/row-level security/);
    expect((await admin.query(`select count(*)::int as n from ${SCHEMA}.notes where tenant_id = $1 and body = 'planted'`, [B])).rows[0].n).toBe(0);
  }, 30_000);

  it('publishes a late-committing event with a lower seq, and keeps each aggregate’s events in order across two relays', async () => {
    await admin.query(`update ${SCHEMA}.outbox set published_at = now()`);
    // a transaction that takes its seq first but commits last
    let releaseLate!: () => void;
    const gate = new Promise<void>((r) => (releaseLate = r));
    let lateRecorded!: () => void;
    const recorded = new Promise<void>((r) => (lateRecorded = r));
    const late = inTenant(orm, A, (uow) =>
      uow.write(async (em) => {
        const e = await recordEvent(em, NoteWritten, { tenantId: A, aggregateId: randomUUID(), payload: { noteId: randomUUID() } });
        lateRecorded();
        await gate;
        return e;
      }),
    );
    await recorded; // its seq is taken, its commit held at the gate
    const early = await writeNote(A);
    const r1 = relay({ batchSize: 3 });
    await r1.drain();
    releaseLate();
    const lateEvent = await late;
    // one aggregate, many events, drained by two relays in small batches at once
    const aggregateId = randomUUID();
    const ordered: string[] = [];
    await inTenant(orm, A, (uow) =>
      uow.write(async (em) => {
        for (let i = 0; i < 30; i++) ordered.push((await recordEvent(em, NoteWritten, { tenantId: A, aggregateId, payload: { noteId: randomUUID() } })).id);
      }),
    );
    const r2 = relay({ batchSize: 3 });
    const drainAll = async (r: OutboxRelay) => {
      while ((await r.drain()) > 0);
    };
    await Promise.all([drainAll(r1), drainAll(r2)]);
    await r1.stop();
    await r2.stop();
    const jobs = await queues(eventQueueName(SCHEMA)).getJobs(['waiting'], 0, -1, true);
    const ids = jobs.map((j) => j.id!);
    expect(ids).toContain(early.id);
    expect(ids).toContain(lateEvent.id);
    expect(ids.filter((id) => ordered.includes(id))).toEqual(ordered);
  });
});

describe('Redis outages', () => {
  let port: number;
  let server: ChildProcess | undefined;
  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  const startRedis = async (policy = 'noeviction') => {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', policy], { stdio: 'ignore' });
    const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    await until(async () => probe.connect().then(() => probe.ping()).catch(() => 'no'), (v) => v === 'PONG');
    probe.disconnect();
  };
  const stopRedis = async () => {
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const s = server;
    s.kill('SIGKILL');
    await new Promise((r) => s.once('exit', r));
  };
  beforeAll(async () => {
    port = await freePort();
  });
  // Clients close while their Redis still answers (a close waits for its server), then it stops.
  afterEach(async () => {
    await runCleanups();
    await stopRedis();
  });

  it('lets a mutation commit while Redis is down, and delivers its event once Redis is back', async () => {
    await admin.query(`update ${SCHEMA}.outbox set published_at = now()`);
    const url = `redis://127.0.0.1:${port}`;
    await startRedis();
    const privateQueues = queueFactory(workerConnection(url), prefix, FAST);
    cleanups.push(() => privateQueues.close());
    const r = relay({ queue: privateQueues, pollMs: 50 });
    await r.start();
    cleanups.push(() => r.stop());
    await stopRedis();
    const event = await writeNote(A); // the change commits; its event waits in the outbox
    // the relay has claimed the event (its row is locked) and cannot enqueue it
    await until(async () => (await admin.query(`select id from ${SCHEMA}.outbox where id = $1 for update skip locked`, [event.id])).rows.length, (n) => n === 0);
    expect((await admin.query(`select published_at from ${SCHEMA}.outbox where id = $1`, [event.id])).rows[0].published_at).toBeNull();
    await startRedis();
    consumer(workerConnection(url));
    await until(() => effects(event.id), (x) => x.length === 1, 20_000);
  }, 40_000);

  it('fails a request-path enqueue at once with a clear error when Redis is down', async () => {
    const connection = producerConnection(`redis://127.0.0.1:${port}`);
    const q = new Queue('requests', { connection, prefix });
    q.on('error', () => {});
    cleanups.push(async () => {
      connection.disconnect();
      await q.close().catch(() => {});
    });
    const started = performance.now();
    await expect(enqueueNow(q, 'work', { tenantId: A })).rejects.toThrow('Background work is unavailable right now');
    // At once (milliseconds here), not after the seconds a producer would wait for its connection.
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('refuses to start workers unless Redis never evicts', async () => {
    await startRedis('allkeys-lru');
    const r = new Redis(`redis://127.0.0.1:${port}`);
    cleanups.push(async () => r.disconnect());
    await expect(assertNoEviction(r)).rejects.toThrow(/maxmemory-policy is "allkeys-lru"; workers need "noeviction"/);
    await r.config('SET', 'maxmemory-policy', 'noeviction');
    await expect(assertNoEviction(r)).resolves.toBeUndefined();
  });
});
