// The response cache on a real Redis, through a small Apollo server whose resolvers count their
// calls and carry @cacheControl hints as catalog's will: what is served from the cache, to whom,
// and for how long.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Actor } from '@lectern/kernel/actor';
import { createRedis, waitForRedis, type Redis } from '@lectern/kernel/redis';
import { actor, dropRedisKeys, until } from '@lectern/testkit';
import { canonicalJson, ResponseCache, responseCachePlugin, type CacheEvent, type CacheEntry, type ResponseCacheOptions } from './response-cache.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = `test:rc:${randomUUID().slice(0, 8)}:`;
const silent = { warn: () => {} };

const typeDefs = /* GraphQL */ `
  enum CacheControlScope {
    PUBLIC
    PRIVATE
  }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  type Query {
    courses: [Course!]! @cacheControl(maxAge: 60)
    course(id: ID!): Course @cacheControl(maxAge: 60)
    "No hint: an uncacheable answer (what a subgraph's no-store gives)."
    lesson(id: ID!): String
    me: String @cacheControl(maxAge: 60, scope: PRIVATE)
    forbidden: String @cacheControl(maxAge: 60)
    uncached: String
    big: String @cacheControl(maxAge: 60)
  }
  type Course @cacheControl(maxAge: 60) {
    id: ID!
    title: String!
  }
  type Mutation {
    touch: Int @cacheControl(maxAge: 60)
  }
`;

interface Ctx extends BaseContext {
  actor: Actor;
}

/** What the resolvers serve; shared by the "replicas" of one test. */
class Backend {
  calls: Record<string, number> = {};
  version = 1;
  /** Published course ids per organization (`-` for callers without one). */
  published = new Map<string, string[]>();
  /** While set, `courses` and `me` wait for it (a latch, released by the test). */
  gate: Promise<void> | null = null;
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((r) => (release = r));
    return () => {
      this.gate = null;
      release();
    };
  }
  count(field: string) {
    this.calls[field] = (this.calls[field] ?? 0) + 1;
  }
}

const notFound = (what: string) => new GraphQLError(`${what} not found`, { extensions: { code: 'NOT_FOUND' } });

function resolvers(b: Backend) {
  const bucket = (a: Actor) => a.tenantId ?? '-';
  return {
    Query: {
      async courses(_: unknown, __: unknown, { actor: a }: Ctx) {
        b.count('courses');
        // Read before the latch: an answer of what the data was when the request came.
        const ids = [...(b.published.get(bucket(a)) ?? ['c1'])];
        const version = b.version;
        await b.gate;
        if (a.roles.includes('ORG_ADMIN')) ids.push('draft');
        return ids.map((id) => ({ id, title: `${bucket(a)}/${id}/v${version}` }));
      },
      course(_: unknown, { id }: { id: string }, { actor: a }: Ctx) {
        b.count('course');
        if (!(b.published.get(bucket(a)) ?? ['c1']).includes(id)) throw notFound('Course');
        return { id, title: `${bucket(a)}/${id}/v${b.version}` };
      },
      lesson() {
        b.count('lesson');
        throw notFound('Lesson');
      },
      async me(_: unknown, __: unknown, { actor: a }: Ctx) {
        b.count('me');
        await b.gate;
        return a.userId ?? 'nobody';
      },
      forbidden() {
        b.count('forbidden');
        throw new GraphQLError('No', { extensions: { code: 'FORBIDDEN' } });
      },
      uncached() {
        b.count('uncached');
        return 'x';
      },
      big() {
        b.count('big');
        return 'x'.repeat(4000);
      },
    },
    Mutation: {
      touch() {
        b.count('touch');
        return ++b.version;
      },
    },
  };
}

let redis: Redis;
beforeAll(async () => {
  redis = createRedis(REDIS_URL);
  await waitForRedis(redis, REDIS_URL);
});
afterAll(async () => {
  await dropRedisKeys(redis, ROOT);
});

interface Setup {
  prefix?: string;
  backend?: Backend;
  redis?: Redis;
  cache?: Partial<ResponseCacheOptions>;
}

/** One gateway-like server with its own cache on the test's prefix (a second one sharing the prefix is another replica). */
async function setup(o: Setup = {}) {
  const prefix = o.prefix ?? `${ROOT}${randomUUID().slice(0, 8)}:`;
  const backend = o.backend ?? new Backend();
  const events: CacheEvent[] = [];
  // Lookups get a generous bound: on a loaded 2-core machine 50 ms can pass between two ticks.
  const cache = new ResponseCache({ redis: o.redis ?? redis, prefix, log: silent, redisTimeoutMs: 2000, ...o.cache });
  const server = new ApolloServer<Ctx>({
    typeDefs,
    resolvers: resolvers(backend),
    includeStacktraceInErrorResponses: false,
    plugins: [responseCachePlugin<Ctx>(cache, { onEvent: (e) => events.push(e) })],
  });
  await server.start();
  onTestFinished(() => server.stop());
  const run = async (who: Actor, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await server.executeOperation(
      { query, variables, http: { method: 'POST', headers: new HeaderMap(Object.entries(headers)), search: '', body: {} } },
      { contextValue: { actor: who } },
    );
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    const { data, errors } = res.body.singleResult;
    return { data, errors, code: errors?.[0]?.extensions?.code, cache: res.http.headers.get('x-cache'), headers: res.http.headers };
  };
  const count = (e: CacheEvent) => events.filter((x) => x === e).length;
  /** The entries stored under this prefix (not the generation counters or locks). */
  const entries = async () => {
    const keys = (await redis.keys(`${prefix}rc:*`)).filter((k) => !k.endsWith(':lock'));
    return Promise.all(keys.map(async (k) => ({ key: k, pttl: await redis.pttl(k), entry: JSON.parse((await redis.get(k)) ?? 'null') as CacheEntry })));
  };
  return { prefix, backend, cache, server, run, events, count, entries };
}

const COURSES = '{ courses { id title } }';
const tenantA = randomUUID();
const tenantB = randomUUID();
const learner = (tenantId: string | null = tenantA, extra: Partial<Actor> = {}) => actor({ tenantId, roles: ['LEARNER'], ...extra });

describe('a cached answer', () => {
  it('is served without calling the resolver, by this replica and by another one', async () => {
    const h = await setup();
    const who = learner();
    const first = await h.run(who, COURSES);
    expect(first.cache).toBe('MISS');
    expect(first.headers.get('cache-control')).toBe('private, max-age=60');
    const second = await h.run(learner(), COURSES); // another learner of the same organization: a PUBLIC answer
    expect(second).toMatchObject({ cache: 'HIT', data: first.data });
    expect(second.headers.get('age')).toMatch(/^\d+$/);
    expect(second.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(h.backend.calls.courses).toBe(1);

    const replica = await setup({ prefix: h.prefix, backend: h.backend });
    expect(await replica.run(who, COURSES)).toMatchObject({ cache: 'HIT', data: first.data });
    expect(h.backend.calls.courses).toBe(1);
    expect(h.count('store')).toBe(1);
  });

  it('never crosses organizations: the same query in another one executes and gets its own data', async () => {
    const h = await setup();
    h.backend.published.set(tenantA, ['a1']).set(tenantB, ['b1']);
    const a = await h.run(learner(tenantA), COURSES);
    const b = await h.run(learner(tenantB), COURSES);
    expect(b.cache).toBe('MISS');
    expect(a.data).toEqual({ courses: [{ id: 'a1', title: `${tenantA}/a1/v1` }] });
    expect(b.data).toEqual({ courses: [{ id: 'b1', title: `${tenantB}/b1/v1` }] });
    expect(await h.run(learner(tenantA), COURSES)).toMatchObject({ cache: 'HIT', data: a.data });
    expect(await h.run(learner(tenantB), COURSES)).toMatchObject({ cache: 'HIT', data: b.data });
    expect(h.backend.calls.courses).toBe(2);

    // Without an organization: anonymous callers and signed-in users each get their own.
    const anon = actor({ kind: 'anonymous', userId: null, ip: null });
    expect((await h.run(anon, COURSES)).cache).toBe('MISS');
    expect((await h.run(actor({ tenantId: null }), COURSES)).cache).toBe('MISS');
    expect((await h.run(actor({ kind: 'anonymous', userId: null, ip: '10.0.0.9' }), COURSES)).cache).toBe('HIT');
    expect(h.backend.calls.courses).toBe(4);
  });

  it('scoped PRIVATE is per user (and not cached for anonymous callers)', async () => {
    const h = await setup();
    const u1 = learner();
    const u2 = learner();
    expect(await h.run(u1, '{ me }')).toMatchObject({ cache: 'MISS', data: { me: u1.userId } });
    expect(await h.run(u2, '{ me }')).toMatchObject({ cache: 'MISS', data: { me: u2.userId } });
    expect(await h.run(u1, '{ me }')).toMatchObject({ cache: 'HIT', data: { me: u1.userId } });
    expect(await h.run(u2, '{ me }')).toMatchObject({ cache: 'HIT', data: { me: u2.userId } });
    // An API key of the same organization is a caller of its own.
    const key = actor({ kind: 'api_key', tenantId: tenantA, userId: null, apiKeyId: randomUUID(), scopes: ['catalog:read'] });
    expect(await h.run(key, '{ me }')).toMatchObject({ cache: 'MISS', data: { me: 'nobody' } });
    expect(h.backend.calls.me).toBe(3);

    const anon = actor({ kind: 'anonymous', userId: null });
    await h.run(anon, '{ me }');
    expect(await h.run(anon, '{ me }')).toMatchObject({ cache: 'MISS' });
    expect(h.backend.calls.me).toBe(5);
  });

  it('is kept apart per role: an organization admin does not get a learner’s list, nor the other way round', async () => {
    const h = await setup();
    const admin = actor({ tenantId: tenantA, roles: ['ORG_ADMIN'] });
    const l = await h.run(learner(), COURSES);
    const a = await h.run(admin, COURSES);
    expect(a.cache).toBe('MISS');
    expect(a.data).toEqual({ courses: [{ id: 'c1', title: `${tenantA}/c1/v1` }, { id: 'draft', title: `${tenantA}/draft/v1` }] });
    expect(l.data).toEqual({ courses: [{ id: 'c1', title: `${tenantA}/c1/v1` }] });
    expect(await h.run(actor({ tenantId: tenantA, roles: ['ORG_ADMIN'] }), COURSES)).toMatchObject({ cache: 'HIT', data: a.data });
    expect(await h.run(learner(), COURSES)).toMatchObject({ cache: 'HIT', data: l.data });
    // Roles in another order are the same visibility.
    const both = actor({ tenantId: tenantA, roles: ['LEARNER', 'INSTRUCTOR'] });
    await h.run(both, COURSES);
    expect((await h.run(actor({ tenantId: tenantA, roles: ['INSTRUCTOR', 'LEARNER'] }), COURSES)).cache).toBe('HIT');
    expect(h.backend.calls.courses).toBe(3);
  });

  it('is gone after invalidateTenant (an unpublished course disappears from the next answer); other organizations keep theirs', async () => {
    const h = await setup();
    h.backend.published.set(tenantA, ['a1', 'a2']).set(tenantB, ['b1']);
    const anon = actor({ kind: 'anonymous', userId: null });
    await h.run(learner(tenantA), COURSES);
    await h.run(learner(tenantB), COURSES);
    await h.run(anon, COURSES);
    expect(h.backend.calls.courses).toBe(3);

    h.backend.published.set(tenantA, ['a1']); // unpublishCourse(a2)…
    await h.cache.invalidateTenant(tenantA); // …and its CourseUnpublished event
    const after = await h.run(learner(tenantA), COURSES);
    expect(after).toMatchObject({ cache: 'MISS', data: { courses: [{ id: 'a1', title: `${tenantA}/a1/v1` }] } });
    expect((await h.run(learner(tenantB), COURSES)).cache).toBe('HIT');
    expect((await h.run(anon, COURSES)).cache).toBe('MISS'); // callers without an organization may list any organization's courses
    expect((await h.run(learner(tenantA), COURSES)).cache).toBe('HIT');
    expect(h.backend.calls.courses).toBe(5);
  });

  it('an answer computed while its organization was invalidated is not served afterwards', async () => {
    const h = await setup();
    const release = h.backend.hold();
    const running = h.run(learner(), COURSES);
    await until(() => h.backend.calls.courses === 1);
    await h.cache.invalidateTenant(tenantA);
    h.backend.version = 2;
    release();
    expect((await running).data).toEqual({ courses: [{ id: 'c1', title: `${tenantA}/c1/v1` }] });
    expect(await h.run(learner(), COURSES)).toMatchObject({ cache: 'MISS', data: { courses: [{ id: 'c1', title: `${tenantA}/c1/v2` }] } });
  });
});

describe('stampede protection', () => {
  it('500 concurrent misses on one key make one resolver call', async () => {
    const h = await setup();
    const release = h.backend.hold();
    const all = Array.from({ length: 500 }, () => h.run(learner(), COURSES));
    // Every request is either the one executing or waiting for it before the resolver answers.
    await until(() => h.count('wait') === 499 && h.backend.calls.courses === 1, Boolean, 25_000);
    release();
    const results = await Promise.all(all);
    expect(h.backend.calls.courses).toBe(1);
    expect(results.filter((r) => r.cache === 'MISS')).toHaveLength(1);
    expect(results.filter((r) => r.cache === 'HIT')).toHaveLength(499);
    for (const r of results) expect(r.data).toEqual({ courses: [{ id: 'c1', title: `${tenantA}/c1/v1` }] });
    expect(h.count('store')).toBe(1);
  }, 60_000);

  it('a waiting request of another user does not take a PRIVATE answer: it executes itself', async () => {
    const h = await setup();
    const u1 = learner();
    const u2 = learner();
    const release = h.backend.hold();
    const first = h.run(u1, '{ me }');
    await until(() => h.backend.calls.me === 1);
    const second = h.run(u2, '{ me }');
    await until(() => h.count('wait') === 1);
    release();
    expect(await first).toMatchObject({ data: { me: u1.userId } });
    expect(await second).toMatchObject({ data: { me: u2.userId }, cache: 'MISS' });
    expect(h.backend.calls.me).toBe(2);
  });

  it('jitters freshness within maxAge × (1 − jitter) … maxAge, and keeps the entry in Redis until its stale window ends', async () => {
    let clock = Date.now();
    let random = 1;
    const h = await setup({ cache: { now: () => clock, random: () => random, jitter: 0.1 } });
    await h.run(learner(), COURSES);
    const [stored] = await h.entries();
    expect(stored!.entry.freshUntil - stored!.entry.storedAt).toBe(54_000);
    expect(stored!.entry.staleUntil - stored!.entry.freshUntil).toBe(60_000);
    expect(stored!.pttl).toBeGreaterThan(110_000);
    expect(stored!.pttl).toBeLessThanOrEqual(115_000);
    clock += 53_000;
    expect((await h.run(learner(), COURSES)).cache).toBe('HIT');
    clock += 2_000; // 55 s: past the jittered freshness
    expect((await h.run(learner(), COURSES)).cache).toBe('REFRESH');

    random = 0; // the refreshed entry: full maxAge
    const [refreshed] = await h.entries();
    expect(refreshed!.entry.freshUntil - refreshed!.entry.storedAt).toBe(54_000); // stored before random changed
    clock += 55_000;
    expect((await h.run(learner(), COURSES)).cache).toBe('REFRESH');
    clock += 59_000;
    expect((await h.run(learner(), COURSES)).cache).toBe('HIT');
    for (let i = 0; i < 20; i++) {
      random = Math.random();
      await h.cache.invalidateTenant(tenantA);
      await h.run(learner(), COURSES);
      const [e] = await h.entries();
      const fresh = e!.entry.freshUntil - e!.entry.storedAt;
      expect(fresh).toBeGreaterThanOrEqual(54_000);
      expect(fresh).toBeLessThanOrEqual(60_000);
    }
  });

  it('stale-while-revalidate: after maxAge one request refreshes while the others (on every replica) get the stale answer', async () => {
    let clock = Date.now();
    const h = await setup({ cache: { now: () => clock, random: () => 0 } });
    const replica = await setup({ prefix: h.prefix, backend: h.backend, cache: { now: () => clock, random: () => 0 } });
    const v1 = (await h.run(learner(), COURSES)).data;
    clock += 61_000;
    h.backend.version = 2;
    const release = h.backend.hold();
    const refresher = h.run(learner(), COURSES);
    await until(() => h.backend.calls.courses === 2);
    const others = await Promise.all(Array.from({ length: 20 }, () => h.run(learner(), COURSES)));
    for (const r of others) expect(r).toMatchObject({ cache: 'STALE', data: v1 });
    expect(others[0]!.headers.get('cache-control')).toBe('private, max-age=0');
    expect(await replica.run(learner(), COURSES)).toMatchObject({ cache: 'STALE', data: v1 });
    release();
    const refreshed = await refresher;
    expect(refreshed).toMatchObject({ cache: 'REFRESH', data: { courses: [{ id: 'c1', title: `${tenantA}/c1/v2` }] } });
    expect(await replica.run(learner(), COURSES)).toMatchObject({ cache: 'HIT', data: refreshed.data });
    expect(h.backend.calls.courses).toBe(2);

    // Past the stale window too: an ordinary miss.
    clock += 200_000;
    expect((await h.run(learner(), COURSES)).cache).toBe('MISS');
  });
});

describe('what is cached', () => {
  it('a NOT_FOUND answer for negativeTtlSeconds', async () => {
    let clock = Date.now();
    const h = await setup({ cache: { now: () => clock, random: () => 0, negativeTtlSeconds: 5 } });
    const q = 'query Course($id: ID!) { course(id: $id) { id title } }';
    const first = await h.run(learner(), q, { id: 'nope' });
    expect(first).toMatchObject({ cache: 'MISS', code: 'NOT_FOUND', data: { course: null } });
    const second = await h.run(learner(), q, { id: 'nope' });
    expect(second).toMatchObject({ cache: 'HIT', code: 'NOT_FOUND', data: { course: null } });
    expect(second.headers.get('cache-control')).toBe('no-store');
    expect(h.backend.calls.course).toBe(1);
    expect(h.count('negative')).toBe(1);
    // Other variables are another key.
    expect(await h.run(learner(), q, { id: 'c1' })).toMatchObject({ cache: 'MISS', data: { course: { id: 'c1' } } });
    clock += 5_001;
    expect((await h.run(learner(), q, { id: 'nope' })).cache).toBe('MISS');
    expect(h.backend.calls.course).toBe(3);
  });

  it('a NOT_FOUND answer without a cache policy (as a subgraph’s no-store gives it) only for the same caller', async () => {
    const h = await setup();
    const u1 = learner();
    expect(await h.run(u1, '{ lesson(id: "x") }')).toMatchObject({ cache: 'MISS', code: 'NOT_FOUND' });
    expect(await h.run(u1, '{ lesson(id: "x") }')).toMatchObject({ cache: 'HIT', code: 'NOT_FOUND' });
    expect(await h.run(learner(), '{ lesson(id: "x") }')).toMatchObject({ cache: 'MISS' });
    expect(h.backend.calls.lesson).toBe(2);
    // Beside uncacheable data it is not cached at all.
    await h.run(u1, '{ lesson(id: "x") uncached }');
    expect(await h.run(u1, '{ lesson(id: "x") uncached }')).toMatchObject({ cache: 'MISS' });
    expect(h.backend.calls.lesson).toBe(4);
  });

  it('never a mutation', async () => {
    const h = await setup();
    const a = await h.run(learner(), 'mutation { touch }');
    const b = await h.run(learner(), 'mutation { touch }');
    expect(a.data).toEqual({ touch: 2 });
    expect(b.data).toEqual({ touch: 3 });
    expect(b.cache).toBeUndefined();
    expect(h.backend.calls.touch).toBe(2);
    expect(await h.entries()).toEqual([]);
  });

  it('never an answer with an error other than NOT_FOUND, nor a partial failure', async () => {
    const h = await setup();
    await h.run(learner(), '{ forbidden }');
    expect(await h.run(learner(), '{ forbidden }')).toMatchObject({ cache: 'MISS', code: 'FORBIDDEN' });
    expect(h.backend.calls.forbidden).toBe(2);
    const mixed = '{ course(id: "nope") { id } forbidden }';
    await h.run(learner(), mixed);
    expect((await h.run(learner(), mixed)).cache).toBe('MISS');
    expect(h.backend.calls.course).toBe(2);
    expect(await h.entries()).toEqual([]);
  });

  it('never an answer without a cache hint, nor one over maxEntryBytes', async () => {
    const h = await setup({ cache: { maxEntryBytes: 1000 } });
    await h.run(learner(), '{ uncached }');
    const u = await h.run(learner(), '{ uncached }');
    expect(u.cache).toBe('MISS');
    expect(u.headers.get('cache-control')).toBe('no-store');
    await h.run(learner(), '{ big }');
    expect((await h.run(learner(), '{ big }')).cache).toBe('MISS');
    expect(h.backend.calls).toMatchObject({ uncached: 2, big: 2 });
    expect(await h.entries()).toEqual([]);
  });

  it('a request with cache-control: no-cache is computed anew and replaces the entry; no-store leaves the cache alone', async () => {
    const h = await setup();
    await h.run(learner(), COURSES);
    h.backend.version = 2;
    const fresh = await h.run(learner(), COURSES, undefined, { 'cache-control': 'no-cache' });
    expect(fresh).toMatchObject({ cache: 'MISS', data: { courses: [{ id: 'c1', title: `${tenantA}/c1/v2` }] } });
    expect(await h.run(learner(), COURSES)).toMatchObject({ cache: 'HIT', data: fresh.data });
    h.backend.version = 3;
    const untouched = await h.run(learner(), COURSES, undefined, { 'cache-control': 'no-store' });
    expect(untouched.cache).toBeUndefined();
    expect(await h.run(learner(), COURSES)).toMatchObject({ cache: 'HIT', data: fresh.data });
  });
});

describe('without Redis', () => {
  it('requests are still answered (and still coalesced within the process)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const down = createRedis(`redis://127.0.0.1:${port}`);
    onTestFinished(() => down.disconnect());
    const h = await setup({ redis: down, cache: { redisTimeoutMs: 50 } });
    expect(await h.run(learner(), COURSES)).toMatchObject({ cache: 'BYPASS', data: { courses: [{ id: 'c1' }] } });
    expect(await h.run(learner(), COURSES)).toMatchObject({ cache: 'BYPASS' });
    expect(h.backend.calls.courses).toBe(2);

    const release = h.backend.hold();
    const all = Array.from({ length: 20 }, () => h.run(learner(), COURSES));
    await until(() => h.count('wait') === 19);
    release();
    expect((await Promise.all(all)).map((r) => r.data)).toEqual(Array.from({ length: 20 }, () => ({ courses: [{ id: 'c1', title: `${tenantA}/c1/v1` }] })));
    expect(h.backend.calls.courses).toBe(3);
    await expect(h.cache.invalidateTenant(tenantA)).rejects.toThrow();
  });
});

describe('canonicalJson', () => {
  it('orders object keys and drops undefined ones', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  });
});
