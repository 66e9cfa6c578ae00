// Subscriptions on the subgraph side (subscriptions.ts), on real PostgreSQL and Redis: a tiny
// subgraph hosted by the kernel's own startSubgraph, subscribers over graphql-ws as the gateway
// connects, events published through Redis pub/sub, the admit and leases routes, and a Redis
// outage through a TCP proxy (@lectern/testkit/tcp-proxy) in front of the shared Redis.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { Redis } from 'ioredis';
import { actor, admit, serviceHeaders, subscribeSubgraph, until, type SubgraphSubscription } from '@lectern/testkit';
import { bootstrapDatabase, connectionString, migrate, withClient } from '../src/db.ts';
import { baseEnv, databaseEnv, z } from '../src/env.ts';
import { notFound } from '../src/errors.ts';
import { serviceCredential } from '../src/service-auth.ts';
import { startSubgraph, type RunningSubgraph, type SubgraphContext, type SubgraphDefinition, type SubgraphEnv } from '../src/subgraph.ts';
import { publish, redisChannel, subscriptionField, type LeaseHandler } from '../src/subscriptions.ts';
import { entities, migrations } from './fixtures/events-schema.ts';
import { target, TcpProxy } from '@lectern/testkit/tcp-proxy';

const ADMIN = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const database = `lectern_test_subs_${randomBytes(4).toString('hex')}`;
const prefix = `lectern-test-${database}:`;
// Service credentials name real services: the test subgraph is `live` (in a private database).
const NAME = 'live';
const A = randomUUID();
const B = randomUUID();
const dbUrl = connectionString(ADMIN, { user: '', database });

type Ctx = SubgraphContext & { contextNumber: number };
interface Payload {
  n: number;
  skip?: boolean;
}

/** What the test subgraph's admissions and lease handler did. */
const record = { contexts: 0, started: [] as string[], renewed: [] as string[], released: [] as string[] };
const leases: LeaseHandler = {
  ttlSeconds: 0.3,
  async renew(ids) {
    record.renewed.push(...ids);
    // The test holds every lease it started.
    return ids.filter((id) => !record.started.includes(id));
  },
  async release(ids) {
    record.released.push(...ids);
  },
};

const def: SubgraphDefinition<SubgraphEnv, Ctx> = {
  name: NAME,
  typeDefs: parse(`
    type Query { ping: String }
    type Event { n: Int! tenant: String! context: Int! }
    type Subscription { events(room: String!): Event! }
  `),
  resolvers: {
    Query: { ping: () => 'pong' },
    Subscription: {
      events: subscriptionField<Ctx, { room: string }, Payload>({
        async admit({ room }) {
          if (room === 'secret') throw notFound('Room');
          return room.startsWith('lease')
            ? {
                channel: `room:${room}`,
                lease: async (id) => {
                  record.started.push(id);
                },
              }
            : { channel: `room:${room}` };
        },
        resolve: (payload, _args, ctx) => (payload.skip ? null : { n: payload.n, tenant: ctx.actor.tenantId, context: ctx.contextNumber }),
      }),
    },
  },
  entities,
  migrations,
  context: (base) => ({ ...base, contextNumber: ++record.contexts }),
  leases: () => leases,
};

const env = (redisUrl = REDIS) =>
  baseEnv
    .extend(databaseEnv.shape)
    .extend({ PORT: z.coerce.number() })
    .parse({ DATABASE_URL: dbUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, LOG_LEVEL: 'silent', NODE_ENV: 'test', PORT: '0' });

const EVENTS = 'subscription ($room: String!) { events(room: $room) { n tenant context } }';
const alice = actor({ tenantId: A });
const bob = actor({ tenantId: B });

let subgraph: RunningSubgraph<SubgraphEnv>;
let redis: Redis;
const open: SubgraphSubscription[] = [];

/** Local subscribers of `room` in `tenant`, as Redis counts them (one per subscribing process). */
const listeners = async (tenant: string, room: string) => Number(((await redis.pubsub('NUMSUB', redisChannel(prefix, NAME, tenant, `room:${room}`))) as [string, number])[1]);

async function subscribe(who = alice, room = 'x', opts: { shared?: boolean; serviceToken?: string; actorToken?: string; url?: string } = {}) {
  const sub = await subscribeSubgraph(opts.url ?? subgraph.url, who, EVENTS, { room }, { service: NAME, ...opts });
  open.push(sub);
  return sub;
}

beforeAll(async () => {
  await bootstrapDatabase({ adminUrl: ADMIN, database, subgraphs: [{ name: NAME }] });
  await migrate({ ownerUrl: connectionString(ADMIN, { user: 'lectern_owner', database }), schema: NAME, migrations });
  redis = new Redis(REDIS, { maxRetriesPerRequest: null });
  subgraph = await startSubgraph(def, env());
});
afterAll(async () => {
  for (const s of open) await s.close().catch(() => {});
  await subgraph?.close();
  redis?.disconnect();
  await withClient(ADMIN, async (c) => {
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
    await c.query(`DROP DATABASE IF EXISTS ${database}`);
  });
});

describe('a direct subscriber', () => {
  it('receives the events of its channel in its tenant only, and unsubscribes Redis when it ends', async () => {
    const sub = await subscribe(alice, 'x');
    await until(() => listeners(A, 'x'), (n) => n === 1);
    await subgraph.deps.publish(B, 'room:x', { n: 1 }); // another tenant's channel of the same name
    await subgraph.deps.publish(A, 'room:y', { n: 2 }); // another channel
    await publish(redis, NAME, A, 'room:x', { n: 3 }, { prefix }); // as a worker publishes
    expect((await sub.next()).data?.events).toMatchObject({ n: 3, tenant: A });
    // Published in order on one connection: had the others been delivered, they would be here first.
    expect(sub.pending).toBe(0);
    await sub.close();
    await until(() => listeners(A, 'x'), (n) => n === 0);
    await until(() => subgraph.subscriptions.keeper!.size === 0 && subgraph.deps.metrics.subscriptionsActive.get().then((m) => m.values.every((v) => v.value === 0)), Boolean);
  });

  it('shares one Redis subscription among the subscribers of a channel', async () => {
    const [one, two] = [await subscribe(alice, 'both'), await subscribe(actor({ tenantId: A }), 'both')];
    await until(async () => (await subgraph.deps.metrics.subscriptionsActive.get()).values.reduce((s, v) => s + v.value, 0), (n) => n === 2);
    expect(await listeners(A, 'both')).toBe(1);
    await subgraph.deps.publish(A, 'room:both', { n: 7 });
    expect((await one.next()).data?.events.n).toBe(7);
    expect((await two.next()).data?.events.n).toBe(7);
    await one.close();
    await subgraph.deps.publish(A, 'room:both', { n: 8 });
    expect((await two.next()).data?.events.n).toBe(8);
    expect(await listeners(A, 'both')).toBe(1);
    await two.close();
    await until(() => listeners(A, 'both'), (n) => n === 0);
  });

  it('executes each event in a fresh context and skips the events its field resolves to null', async () => {
    const sub = await subscribe(alice, 'fresh');
    await until(() => listeners(A, 'fresh'), (n) => n === 1);
    const before = record.contexts;
    await subgraph.deps.publish(A, 'room:fresh', { n: 1 });
    await subgraph.deps.publish(A, 'room:fresh', { n: 2, skip: true });
    await subgraph.deps.publish(A, 'room:fresh', { n: 3 });
    const first = (await sub.next()).data?.events;
    const second = (await sub.next()).data?.events;
    expect([first.n, second.n]).toEqual([1, 3]);
    // One context per event (the skipped one too), none shared with the admission's.
    expect(first.context).toBe(before + 1);
    expect(second.context).toBe(before + 3);
    await sub.close();
  });

  it('refuses a socket without the gateway’s service token (4403) and a subscribe without a valid actor (UNAUTHENTICATED)', async () => {
    const forged = await subscribe(alice, 'x', { serviceToken: 'not-a-token' });
    expect(await forged.ended).toMatchObject({ closeCode: 4403 });
    const notGateway = await subscribe(alice, 'x', { serviceToken: serviceCredential('identity', { NODE_ENV: 'test' }).token(NAME, null) });
    expect(await notGateway.ended).toMatchObject({ closeCode: 4403 });
    const tenantScoped = await subscribe(alice, 'x', { serviceToken: serviceCredential('gateway', { NODE_ENV: 'test' }).token(NAME, A) });
    expect(await tenantScoped.ended).toMatchObject({ closeCode: 4403 });
    const anonymous = await subscribe(alice, 'x', { actorToken: 'forged.actor.token' });
    expect(await anonymous.ended).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('answers a refused admission, a query and an invalid document with errors, without subscribing Redis', async () => {
    const refused = await subscribe(alice, 'secret');
    expect(await refused.ended).toMatchObject({ errors: [{ message: 'Room not found', extensions: { code: 'NOT_FOUND' } }] });
    const query = await subscribeSubgraph(subgraph.url, alice, '{ ping }', {}, { service: NAME });
    open.push(query);
    expect(await query.ended).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    const invalid = await subscribeSubgraph(subgraph.url, alice, 'subscription { nope }', {}, { service: NAME });
    open.push(invalid);
    expect(await invalid.ended).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    expect(await listeners(A, 'secret')).toBe(0);
  });
});

describe('leases', () => {
  it('a direct subscriber’s lease is started at admission, renewed every ttl/3 and released when it ends', async () => {
    const started = record.started.length;
    const sub = await subscribe(alice, 'lease-direct');
    const id = await until(() => record.started[started]);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => record.renewed.filter((r) => r === id).length, (n) => n >= 2);
    expect(record.released).not.toContain(id);
    await sub.close();
    await until(() => record.released.includes(id));
    const renewals = record.renewed.length;
    await until(() => subgraph.subscriptions.keeper!.size, (n) => n === 0);
    expect(record.renewed.slice(renewals)).not.toContain(id);
  });

  it('a gateway’s shared subscription starts no lease', async () => {
    const started = record.started.length;
    const sub = await subscribe(alice, 'lease-shared', { shared: true });
    await until(() => listeners(A, 'lease-shared'), (n) => n === 1);
    await subgraph.deps.publish(A, 'room:lease-shared', { n: 1 });
    expect((await sub.next()).data?.events.n).toBe(1);
    expect(record.started.length).toBe(started);
    expect(subgraph.subscriptions.keeper!.size).toBe(0);
    await sub.close();
  });

  it('the admit route answers the channel and starts the lease, without subscribing Redis', async () => {
    const started = record.started.length;
    const answer = await admit(subgraph.url, alice, EVENTS, { room: 'lease-admit' });
    expect(answer).toMatchObject({ status: 200, channel: 'room:lease-admit', lease: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), ttlSeconds: 0.3 } });
    expect(record.started.slice(started)).toEqual([answer.lease!.id]);
    expect(await listeners(A, 'lease-admit')).toBe(0);
    // Not the kernel's lease to keep: the gateway renews it.
    expect(subgraph.subscriptions.keeper!.size).toBe(0);
    expect(await admit(subgraph.url, bob, EVENTS, { room: 'plain' })).toMatchObject({ status: 200, channel: 'room:plain', lease: null });
  });

  it('the admit route answers a refusal as GraphQL errors (no lease), and 401 without an actor', async () => {
    const started = record.started.length;
    const refused = await admit(subgraph.url, alice, EVENTS, { room: 'secret' });
    expect(refused).toMatchObject({ status: 200, errors: [{ message: 'Room not found', extensions: { code: 'NOT_FOUND' } }] });
    expect(refused.channel).toBeUndefined();
    expect(record.started.length).toBe(started);
    expect((await admit(subgraph.url, null, EVENTS, { room: 'x' })).status).toBe(401);
    expect(await admit(subgraph.url, alice, '{ ping }')).toMatchObject({ status: 200, errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    expect(await admit(subgraph.url, alice, EVENTS, {})).toMatchObject({ status: 200, errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
    expect(await admit(subgraph.url, alice, 'subscription {')).toMatchObject({ status: 200, errors: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
  });

  it('the leases route renews and releases for the gateway only', async () => {
    const url = subgraph.url.replace(/\/graphql$/, '/subscriptions/leases');
    const [renew, release] = [randomUUID(), randomUUID()];
    const post = (headers: Record<string, string>, body: unknown = { renew: [renew], release: [release] }) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await post({})).status).toBe(401);
    expect((await post(serviceHeaders('identity', NAME, null))).status).toBe(401);
    expect((await post(serviceHeaders('gateway', NAME, A))).status).toBe(401);
    expect((await post(serviceHeaders('gateway', NAME, null), { renew: ['not-a-uuid'] })).status).toBe(400);
    expect(record.renewed).not.toContain(renew);
    const res = await post(serviceHeaders('gateway', NAME, null));
    expect(res.status).toBe(200);
    // The lease the handler does not hold is answered, so the gateway admits its subscriber again.
    expect(await res.json()).toEqual({ unknown: [renew] });
    expect(record.renewed).toContain(renew);
    expect(record.released).toContain(release);
  });
});

describe('across a Redis outage, and at shutdown', () => {
  const proxy = new TcpProxy(...target(REDIS));
  let behind: RunningSubgraph<SubgraphEnv>;
  beforeAll(async () => {
    await proxy.open();
    behind = await startSubgraph(def, env(proxy.url));
  });
  afterAll(async () => {
    await proxy.open().catch(() => {});
    await behind?.close();
    await proxy.close();
  });

  it('refuses new subscriptions at once while Redis is down, and re-subscribes the live ones when it returns', async () => {
    const sub = await subscribe(alice, 'outage', { url: behind.url });
    await until(() => listeners(A, 'outage'), (n) => n === 1);
    await proxy.close();
    await until(() => listeners(A, 'outage'), (n) => n === 0);
    const started = performance.now();
    const refused = await subscribe(alice, 'outage-2', { url: behind.url });
    expect(await refused.ended).toMatchObject({ errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: expect.any(Number) } }] });
    expect(performance.now() - started).toBeLessThan(2500);
    await proxy.open();
    await until(() => listeners(A, 'outage'), (n) => n === 1);
    await subgraph.deps.publish(A, 'room:outage', { n: 42 });
    expect((await sub.next()).data?.events.n).toBe(42);
  }, 30_000);

  it('closes its sockets with 1001 and releases its direct leases when it stops', async () => {
    const sub = await subscribe(alice, 'lease-shutdown', { url: behind.url });
    const id = await until(() => behind.subscriptions.keeper!.size === 1 && record.started.at(-1));
    await behind.close();
    expect(await sub.ended).toMatchObject({ closeCode: 1001 });
    expect(record.released).toContain(id);
    await until(() => listeners(A, 'lease-shutdown'), (n) => n === 0);
  });
});
