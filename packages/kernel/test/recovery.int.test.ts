// Recovery without restarts, on real PostgreSQL and Redis. Outages are simulated with a TCP
// proxy in front of the shared Redis (closed: connections cut and refused; reopened on the
// same port), and data loss by deleting only this file's keys. A worker (relay, consumer,
// retention, RedisWatch) and a subgraph are started by the kernel's own hosts, as in production.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLError, parse } from 'graphql';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { actor, actorHeader, settled, until } from '@lectern/testkit';
import { ACTOR_HEADER } from '../src/actor.ts';
import { bootstrapDatabase, connectionString, migrate, withClient } from '../src/db.ts';
import { baseEnv, databaseEnv, z } from '../src/env.ts';
import { makeFormatError } from '../src/errors.ts';
import { createOrm, type MikroORM } from '../src/orm.ts';
import { inTenant } from '../src/uow.ts';
import { recordEvent } from '../src/outbox.ts';
import { eventQueueName, requestQueues } from '../src/queues.ts';
import type { RecoveryReason } from '../src/redis.ts';
import { kernelQueueName, RETENTION_SCHEDULER } from '../src/retention.ts';
import { startSubgraph, type RunningSubgraph, type SubgraphContext, type SubgraphDefinition, type SubgraphEnv } from '../src/subgraph.ts';
import { startWorker, workerKernelEnv, type RunningWorker, type WorkerDefinition } from '../src/worker.ts';
import { entities, handler, migrations, Note, NoteWritten, SCHEMA } from './fixtures/events-schema.ts';
import { target, TcpProxy } from '@lectern/testkit/tcp-proxy';

const ADMIN = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const database = `lectern_test_recovery_${randomBytes(4).toString('hex')}`;
const prefix = `lectern-test-${database}`;
const A = randomUUID();
const dbUrl = connectionString(ADMIN, { user: '', database });

let orm: MikroORM;
let admin: pg.Pool;
let redis: Redis;
const proxy = new TcpProxy(...target(REDIS));
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await bootstrapDatabase({ adminUrl: ADMIN, database, subgraphs: [{ name: SCHEMA }] });
  await migrate({ ownerUrl: connectionString(ADMIN, { user: 'lectern_owner', database }), schema: SCHEMA, migrations });
  orm = await createOrm({ databaseUrl: dbUrl, schema: SCHEMA, entities });
  admin = new pg.Pool({ connectionString: connectionString(ADMIN, { database }), max: 2 });
  redis = new Redis(REDIS, { maxRetriesPerRequest: null });
  await proxy.open();
});
afterEach(async () => {
  await proxy.open().catch(() => {}); // reopened if a test left it closed: clients close while Redis answers
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});
afterAll(async () => {
  await proxy.close();
  await deleteOwnKeys();
  redis.disconnect();
  await orm?.close();
  await admin?.end();
  await withClient(ADMIN, async (c) => {
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
    await c.query(`DROP DATABASE IF EXISTS ${database}`);
  });
});

/** Redis "lost its data": every key of this test file (and only those) goes. */
async function deleteOwnKeys() {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function writeNote(tenantId: string) {
  return inTenant(orm, tenantId, (uow) =>
    uow.write(async (em) => {
      const note = em.create(Note, { tenantId, body: 'hello' });
      await em.flush();
      return recordEvent(em, NoteWritten, { tenantId, aggregateId: note.id, payload: { noteId: note.id } });
    }),
  );
}
const effects = async (eventId: string) => (await admin.query(`select event_id from ${SCHEMA}.effects where event_id = $1`, [eventId])).rows;
const readyz = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
};

const env = (extra: Record<string, string>) =>
  baseEnv
    .extend(databaseEnv.shape)
    .extend(workerKernelEnv.shape)
    .extend({ WORKER_PORT: z.coerce.number(), PORT: z.coerce.number() })
    .parse({ DATABASE_URL: dbUrl, REDIS_URL: proxy.url, REDIS_PREFIX: `${prefix}:`, LOG_LEVEL: 'silent', NODE_ENV: 'test', WORKER_PORT: '0', PORT: '0', ...extra });

describe('a worker across Redis outages', () => {
  let worker: RunningWorker<ReturnType<typeof env>>;
  const recovered: RecoveryReason[] = [];
  let flusherBroken = false;
  const def: WorkerDefinition<ReturnType<typeof env>> = {
    name: SCHEMA,
    entities,
    migrations,
    // 'absent' has no worker here: its jobs wait in Redis, as a backlog would
    routes: { NoteWritten: [SCHEMA, 'absent'] },
    handlers: () => [handler],
    async redisRecovered(_deps, _runtime, reason) {
      recovered.push(reason);
    },
    readiness: () => ({
      flusher: async () => {
        if (flusherBroken) throw new Error('flushes are failing');
      },
    }),
  };
  const queue = (name: string) => {
    const q = new Queue(name, { connection: redis, prefix });
    cleanups.push(() => q.close());
    return q;
  };
  const scheduler = () => queue(kernelQueueName(SCHEMA));

  beforeAll(async () => {
    worker = await startWorker(def, env({ RETENTION_DAYS: '7', RETENTION_INTERVAL_MINUTES: '5', REDIS_LOSS_REPLAY_MINUTES: '5' }));
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('schedules its retention job once (a job scheduler), and the job runs', async () => {
    const q = scheduler();
    expect(await q.getJobScheduler(RETENTION_SCHEDULER)).toMatchObject({ every: 5 * 60_000 });
    const done = await until(() => q.getCompleted(), (jobs) => jobs.length > 0);
    expect(done[0]!.returnvalue).toMatchObject({ outbox: expect.any(Number), failedJobs: expect.any(Number) });
    expect(await readyz(worker.url)).toEqual({ status: 200, checks: { database: 'ok', redis: 'ok', queues: 'ok', outbox: 'ok', flusher: 'ok' } });
  });

  it('reports the definition’s own readiness checks beside the kernel’s', async () => {
    flusherBroken = true;
    try {
      expect(await readyz(worker.url)).toEqual({ status: 503, checks: { database: 'ok', redis: 'ok', queues: 'ok', outbox: 'ok', flusher: 'flushes are failing' } });
    } finally {
      flusherBroken = false;
    }
  });

  it('reports not ready while Redis is down, and delivers an event recorded meanwhile within seconds of Redis returning', async () => {
    await proxy.close();
    const down = await until(() => readyz(worker.url), (r) => r.status === 503);
    expect(down.checks).toMatchObject({ redis: 'down', database: 'ok', outbox: 'ok' });
    const event = await writeNote(A); // the change commits; its event waits in the outbox
    await until(() => worker.deps.redisWatch.state, (s) => s === 'down');
    const returned = Date.now();
    await proxy.open();
    await until(() => effects(event.id), (rows) => rows.length === 1, 15_000);
    expect(Date.now() - returned).toBeLessThan(10_000);
    await until(() => readyz(worker.url), (r) => r.status === 200);
    await until(async () => recovered, (r) => r.includes('reconnected'));
  }, 30_000);

  it('after Redis lost its data: recreates its job scheduler, delivers again what it had published lately (applied once), runs the hook, keeps consuming', async () => {
    const absent = queue(eventQueueName('absent'));
    const mine = queue(eventQueueName(SCHEMA));
    const waiting = await writeNote(A);
    await until(() => effects(waiting.id), (rows) => rows.length === 1);
    await until(() => absent.getJob(waiting.id), (j) => j !== undefined); // delivered, not yet run by 'absent'
    const before = recovered.length;
    await deleteOwnKeys();
    await until(async () => recovered.slice(before), (r) => r.includes('data-lost'));
    expect(await scheduler().getJobScheduler(RETENTION_SCHEDULER)).toMatchObject({ every: 5 * 60_000 });
    // the lost job is back for the consumer that had not run it; the one that had applies it once
    expect((await until(() => absent.getJob(waiting.id), (j) => j !== undefined))!.data).toMatchObject({ id: waiting.id, tenantId: A });
    expect((await settled(mine, waiting.id)).state).toBe('completed');
    expect(await effects(waiting.id)).toHaveLength(1);
    const event = await writeNote(A);
    await until(() => effects(event.id), (rows) => rows.length === 1, 15_000);
  }, 30_000);
});

describe('the request path across Redis outages', () => {
  let subgraph: RunningSubgraph<SubgraphEnv>;
  type Ctx = SubgraphContext & { redis: Redis };
  const def: SubgraphDefinition<SubgraphEnv, Ctx> = {
    // a throwaway schema, not one of Lectern's subgraphs
    name: SCHEMA as SubgraphDefinition<SubgraphEnv, Ctx>['name'],
    typeDefs: parse('type Query { cached(key: String!): String }'),
    resolvers: { Query: { cached: (_: unknown, args: { key: string }, ctx: Ctx) => ctx.redis.get(args.key) } },
    entities,
    migrations,
    context: (base, deps) => ({ ...base, redis: deps.redis }),
  };
  const query = async (key: string) => {
    const res = await fetch(subgraph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [ACTOR_HEADER]: await actorHeader(actor({ tenantId: A })) },
      body: JSON.stringify({ query: 'query ($k: String!) { cached(key: $k) }', variables: { k: key } }),
    });
    return (await res.json()) as { data?: { cached: string | null } | null; errors?: { message: string; extensions: Record<string, unknown> }[] };
  };

  beforeAll(async () => {
    subgraph = await startSubgraph(def, env({}));
    await redis.set(`${prefix}:greeting`, 'hello');
  });
  afterAll(async () => {
    await subgraph?.close();
  });

  it('answers SERVICE_UNAVAILABLE with a retry hint, at once, while Redis is down; /readyz says redis is down; both recover by themselves', async () => {
    expect(await query('greeting')).toEqual({ data: { cached: 'hello' } });
    const base = subgraph.url.replace(/\/graphql$/, '');
    await proxy.close();
    await until(() => readyz(base), (r) => r.status === 503);
    expect((await readyz(base)).checks).toEqual({ database: 'ok', redis: 'down' });
    const started = performance.now();
    const answer = await query('greeting');
    // At once: well inside the request path's 5 s command timeout (a hang would take all of it).
    expect(performance.now() - started).toBeLessThan(2500);
    expect(answer.errors?.[0]).toMatchObject({ message: expect.stringMatching(/unavailable right now/), extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: expect.any(Number) } });
    await proxy.open();
    await until(() => query('greeting'), (a) => a.data?.cached === 'hello');
    expect(await readyz(base)).toEqual({ status: 200, checks: { database: 'ok', redis: 'ok' } });
  }, 30_000);

  it('bounds a request on a Redis that accepts connections but does not answer, then answers again when it does', async () => {
    expect(await query('greeting')).toEqual({ data: { cached: 'hello' } });
    proxy.freeze();
    try {
      const started = performance.now();
      const answer = await query('greeting');
      expect(performance.now() - started).toBeLessThan(8000); // the client's 5 s command timeout
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: expect.any(Number) });
    } finally {
      proxy.thaw();
    }
    await until(() => query('greeting'), (a) => a.data?.cached === 'hello');
  }, 20_000);

  it('keeps a Redis reply error (a bug, not an outage) an INTERNAL_SERVER_ERROR', async () => {
    await redis.hset(`${prefix}:a-hash`, 'f', 'v');
    const answer = await query('a-hash');
    expect(answer.errors?.[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('formats ioredis’s MaxRetriesPerRequestError and a refused connection as SERVICE_UNAVAILABLE', async () => {
    const format = makeFormatError({ error: () => {} });
    const closed = new TcpProxy(...target(REDIS));
    await closed.open();
    await closed.close(); // a port where nothing listens
    const client = new Redis(closed.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on('error', () => {});
    const err = (await client.get('x').then(() => null, (e: unknown) => e)) as Error;
    client.disconnect();
    expect(err).toMatchObject({ name: 'MaxRetriesPerRequestError' });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    for (const original of [err, new Error('wrapped', { cause: refused })]) {
      const formatted = format({ message: String(original), path: ['cached'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, new GraphQLError(String(original), { originalError: original, path: ['cached'] }));
      expect(formatted).toMatchObject({ path: ['cached'], extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: expect.any(Number) } });
    }
  });

  it('fails a request-path enqueue at once while Redis is down, even on a queue first used then, and enqueues again once it is back', async () => {
    const { queues, close } = requestQueues(proxy.url, `${prefix}:`);
    cleanups.push(close);
    await queues('requests').add('before', { tenantId: A });
    await proxy.close();
    for (const name of ['requests', 'first-used-during-the-outage']) {
      const started = performance.now();
      await expect(queues(name).add('during', { tenantId: A })).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      // At once: well inside the 5 s a producer would otherwise wait for its connection.
      expect(performance.now() - started).toBeLessThan(2500);
    }
    await proxy.open();
    await until(
      () => queues('first-used-during-the-outage').add('after', { tenantId: A }).then(() => true, () => false),
      Boolean,
    );
    expect(await new Queue('first-used-during-the-outage', { connection: redis, prefix }).getJobCounts('waiting')).toEqual({ waiting: 1 });
  }, 30_000);
});
