// The gateway under production traffic (issue 16), through real gateways in front of one stack:
// per-organization and per-user rate limits shared by replicas, with RateLimit-* headers.
// Each test starts the gateways it needs with its own settings and Redis prefix.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, freePort, gql, idem, until } from '@lectern/testkit';
import { globalId } from '@lectern/kernel/ids';
import { loadWorkerEnv as catalogWorkerEnv, startCatalogWorker } from '@lectern/catalog/server';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { loadEnv as gatewayEnv, startGateway, type RunningGateway } from '@lectern/gateway/server';
import { createHash } from 'node:crypto';
import { print } from 'graphql';
import { startStack, run, type Stack } from './src/harness.ts';
import { CoursesDocument, CreateApiKeyDocument, LoginDocument, SetTrustedDocumentsRequiredDocument } from './__generated__/graphql.ts';

let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
const tokens = { aAdmin: '', aLearner: '', bLearner: '' };
const gateways: RunningGateway[] = [];
const courseIds = { a: '' };

async function login(email: string, slug: string) {
  const r = await run(stack.url, LoginDocument, { input: { email, password: TEST_PASSWORD, organizationSlug: slug, idempotencyKey: idem() } });
  expect(r.data!.login.errors).toEqual([]);
  return r.data!.login.accessToken!;
}

/** Another gateway in front of the stack's subgraphs, with `env` (its own Redis prefix unless given). */
async function gateway(env: Record<string, string>) {
  const s = stack;
  const g = await startGateway(
    gatewayEnv({
      ...s.db.env,
      IDENTITY_URL: s.identity.url,
      CATALOG_URL: s.catalog.url,
      ENROLLMENT_URL: s.enrollment.url,
      LEARNING_URL: s.learning.url,
      NOTIFICATIONS_URL: s.notifications.url,
      LIVE_URL: s.live.url,
      ASSESSMENT_URL: s.assessment.url,
      MEDIA_URL: s.media.url,
      CERTIFICATION_URL: s.certification.url,
      REDIS_PREFIX: `lectern:e2e-traffic:${randomUUID()}:`,
      ...env,
    }),
    { port: 0 },
  );
  gateways.push(g);
  return g;
}

/** One `courses` query through `url` as `token`'s holder: the status, the RateLimit-* headers and the error code. */
async function courses(url: string, token: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'query { courses(first: 5) { totalCount } }' }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
  const h = (name: string) => res.headers.get(name);
  return {
    status: res.status,
    code: body.errors?.[0]?.extensions?.code,
    limit: h('ratelimit-limit'),
    remaining: h('ratelimit-remaining'),
    reset: h('ratelimit-reset'),
    policy: h('ratelimit-policy'),
    retryAfter: h('retry-after'),
    body,
  };
}

beforeAll(async () => {
  stack = await startStack('traffic');
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'globex');
  courseIds.a = (await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorIds: [A.admin.id], title: 'Acme safety', published: true })).id;
  await seedCourse(stack.catalog.deps.orm, { tenantId: B.org.id, authorIds: [B.admin.id], title: 'Globex safety', published: true });
  tokens.aAdmin = await login(A.admin.email, 'acme');
  tokens.aLearner = await login(A.learner.email, 'acme');
  tokens.bLearner = await login(B.learner.email, 'globex');
}, 120_000);
afterAll(async () => {
  for (const g of gateways) await g.close();
  await stack?.close();
});

describe('rate limits', () => {
  it('limits an organization, tells how much is left on every answer, and leaves other organizations alone', async () => {
    // 4 requests, then one every 10 s.
    const g = await gateway({ RATE_LIMIT_ORG_BURST: '4', RATE_LIMIT_ORG_PER_MINUTE: '6' });
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await courses(g.url, i % 2 ? tokens.aAdmin : tokens.aLearner));
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(seen.map((r) => r.remaining)).toEqual(['3', '2', '1', '0']);
    expect(seen.every((r) => r.limit === '4' && Number(r.reset) > 0)).toBe(true);
    expect(seen[0]!.policy).toContain('4;w=40;comment="organization"');

    // The organization's bucket is empty: any of its people is refused, with when to retry.
    for (const token of [tokens.aLearner, tokens.aAdmin]) {
      const refused = await courses(g.url, token);
      expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED', limit: '4', remaining: '0' });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(10);
      expect(refused.body.errors![0]!.extensions).toMatchObject({ retryAfterSeconds: Number(refused.retryAfter), limit: 'organization' });
    }
    // Another organization has its own bucket.
    const other = await courses(g.url, tokens.bLearner);
    expect(other).toMatchObject({ status: 200, remaining: '3' });
  });

  it('limits each user within the organization', async () => {
    const g = await gateway({ RATE_LIMIT_USER_BURST: '2', RATE_LIMIT_USER_PER_MINUTE: '6' });
    expect((await courses(g.url, tokens.aLearner)).status).toBe(200);
    expect((await courses(g.url, tokens.aLearner)).status).toBe(200);
    const refused = await courses(g.url, tokens.aLearner);
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(refused.body.errors![0]!.extensions).toMatchObject({ limit: 'user' });
    // A colleague still has their own.
    expect(await courses(g.url, tokens.aAdmin)).toMatchObject({ status: 200, remaining: '1' });
  });

  it('shares the buckets between replicas', async () => {
    const prefix = `lectern:e2e-traffic:${randomUUID()}:`;
    const env = { REDIS_PREFIX: prefix, RATE_LIMIT_ORG_BURST: '6', RATE_LIMIT_ORG_PER_MINUTE: '1' };
    const [g1, g2] = [await gateway(env), await gateway(env)];
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => courses((i % 2 ? g1 : g2).url, tokens.aLearner).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
  });

  it('serves without limits while Redis does not answer', async () => {
    const g = await gateway({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_ORG_BURST: '1' });
    for (let i = 0; i < 3; i++) {
      const r = await courses(g.url, tokens.aLearner);
      expect(r.status).toBe(200);
      expect(r.limit).toBeNull();
    }
  });
});

describe('resilience', () => {
  it('fails a stopped subgraph’s fields after its timeout with the rest of the answer, opens its circuit, and closes it after SIGCONT', async () => {
    const port = await freePort();
    // catalog as a process of its own, to stop and continue.
    const child = spawn(process.execPath, ['subgraphs/catalog/src/main.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, ...stack.db.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), MEDIA_URL: stack.media.url, IDENTITY_URL: stack.identity.url },
      stdio: 'ignore',
    });
    const g = await gateway({
      CATALOG_URL: `http://127.0.0.1:${port}/graphql`,
      SUBGRAPH_TIMEOUTS: 'catalog=600',
      BREAKER_MIN_REQUESTS: '3',
      BREAKER_OPEN_MS: '1000',
    });
    const metrics = async () => /lectern_gateway_subgraph_circuit_state\{[^}]*subgraph="catalog"[^}]*\} (\d)/.exec(await (await fetch(g.url.replace(/\/graphql$/, '/metrics'))).text())?.[1];
    const mixed = () => gql(g.url, `{ me { kind } courseBySlug(slug: "nope") { id } }`, {}, { token: tokens.aLearner });
    try {
      await until(() => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false));
      expect((await mixed()).errors).toBeUndefined();
      child.kill('SIGSTOP');

      // Each request waits out catalog's 600 ms at most, and keeps identity's part of the answer.
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const r = await mixed();
        expect(Date.now() - started).toBeLessThan(5000);
        expect(r.data).toEqual({ me: { kind: 'USER' }, courseBySlug: null });
        expect(r.errors?.[0]).toMatchObject({ path: ['courseBySlug'], extensions: { code: 'SERVICE_UNAVAILABLE' } });
        expect(r.body).not.toContain(String(port)); // no internal address reaches a client
      }
      // Three failures of three: the circuit is open, and catalog's fields fail without a call.
      expect(await metrics()).toBe('2');
      const refused = await mixed();
      expect(refused.data).toEqual({ me: { kind: 'USER' }, courseBySlug: null });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 1 });
      // What does not touch catalog is served as before.
      expect((await gql(g.url, '{ me { kind } }', {}, { token: tokens.aLearner })).data).toEqual({ me: { kind: 'USER' } });

      child.kill('SIGCONT');
      // After BREAKER_OPEN_MS one probe goes through; it succeeds, and the circuit closes.
      await until(async () => (await mixed()).errors === undefined, Boolean, 20_000);
      expect(await metrics()).toBe('0');
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }, 60_000);
});

/** POSTs `body` (as sent, JSON) to `url` with `token`. */
async function post(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, ...((await res.json()) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: Record<string, unknown> }[] }) };
}

describe('trusted documents', () => {
  const coursesText = print(CoursesDocument);
  const coursesId = createHash('sha256').update(coursesText).digest('hex');

  it('lets an organization require them of its people: an unknown document is refused, a known id works; API keys send any', async () => {
    const created = await run(stack.url, CreateApiKeyDocument, { input: { name: 'integrator', scopes: ['CATALOG_READ'], idempotencyKey: idem() } }, tokens.aAdmin);
    const apiKey = created.data!.createApiKey.secret!;
    const g = await gateway({ ORGANIZATION_POLICY_SECONDS: '0' });
    // Its admin turns it on (a trusted document itself, so it can be turned off again).
    const on = await run(g.url, SetTrustedDocumentsRequiredDocument, { input: { required: true, idempotencyKey: idem() } }, tokens.aAdmin);
    expect(on.data!.setTrustedDocumentsRequired).toMatchObject({ organization: { requireTrustedDocuments: true }, errors: [] });
    // A learner may not.
    const learnerTries = await run(g.url, SetTrustedDocumentsRequiredDocument, { input: { required: false, idempotencyKey: idem() } }, tokens.aLearner);
    expect(learnerTries.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const adHoc = { query: '{ courses(first: 1) { totalCount } }' };

    const refused = await post(g.url, adHoc, tokens.aLearner);
    expect(refused.status).toBe(400);
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'TRUSTED_DOCUMENT_REQUIRED' });
    expect(refused.data).toBeUndefined();

    // By its id (as the app ships it), with the sha256: prefix, and as the full registered text.
    for (const body of [{ documentId: coursesId, variables: { first: 1 } }, { documentId: `sha256:${coursesId}`, variables: { first: 1 } }, { query: coursesText, variables: { first: 1 } }]) {
      const ok = await post(g.url, body, tokens.aLearner);
      expect(ok.errors).toBeUndefined();
      expect(ok.data).toMatchObject({ courses: { nodes: [{ title: 'Acme safety' }] } });
    }
    const unknownId = await post(g.url, { documentId: 'f'.repeat(64) }, tokens.aLearner);
    expect(unknownId).toMatchObject({ status: 400, errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });

    // An integrator's API key of the same organization, and another organization's people, send any document.
    expect((await post(g.url, adHoc, apiKey)).data).toEqual({ courses: { totalCount: 1 } });
    expect((await post(g.url, adHoc, tokens.bLearner)).data).toEqual({ courses: { totalCount: 1 } });

    // Lifting the requirement lifts it.
    const off = await run(g.url, SetTrustedDocumentsRequiredDocument, { input: { required: false, idempotencyKey: idem() } }, tokens.aAdmin);
    expect(off.data!.setTrustedDocumentsRequired.organization!.requireTrustedDocuments).toBe(false);
    expect((await post(g.url, adHoc, tokens.aLearner)).data).toEqual({ courses: { totalCount: 1 } });
  });

  it('keeps automatic persisted queries in Redis, shared by every replica', async () => {
    const prefix = `lectern:e2e-traffic:${randomUUID()}:`;
    const [g1, g2] = [await gateway({ REDIS_PREFIX: prefix }), await gateway({ REDIS_PREFIX: prefix })];
    const query = `{ courses(first: 2) { totalCount } } # ${randomUUID()}`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    expect(await post(g1.url, { extensions }, tokens.bLearner)).toMatchObject({ errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
    expect((await post(g1.url, { query, extensions }, tokens.bLearner)).data).toEqual({ courses: { totalCount: 1 } });
    // The other replica knows it by its hash alone.
    expect((await post(g2.url, { extensions }, tokens.bLearner)).data).toEqual({ courses: { totalCount: 1 } });
  });
});

describe('cost limits', () => {
  /** How many GraphQL requests catalog has answered (its own metrics). */
  const catalogCalls = async () => {
    const text = await (await fetch(new URL('/metrics', stack.catalog.url))).text();
    return [...text.matchAll(/lectern_http_request_duration_seconds_count\{[^}]*route="graphql"[^}]*\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  };

  it('refuses an operation above the maximum before any subgraph is called, and reports the cost of the others', async () => {
    const g = await gateway({ COST_MAX_PER_OPERATION: '500' });
    const before = await catalogCalls();
    const big = await post(g.url, { query: '{ courses(first: 100) { nodes { id title authors { id displayName } } } }' }, tokens.aLearner);
    expect(big.status).toBe(400);
    expect(big.errors![0]!.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED' });
    expect(big.errors![0]!.message).toMatch(/above the maximum of 500/);
    expect((big as { extensions?: { cost?: unknown } }).extensions?.cost).toMatchObject({ maximum: 500, estimated: expect.any(Number) });
    expect(await catalogCalls()).toBe(before);

    const small = await post(g.url, { query: '{ courses(first: 5) { totalCount nodes { id title } } }' }, tokens.aLearner);
    expect(small.errors).toBeUndefined();
    const cost = (small as { extensions?: { cost?: Record<string, number> } }).extensions!.cost!;
    expect(cost).toMatchObject({ maximum: 500, estimated: expect.any(Number), actual: expect.any(Number), budgetRemaining: expect.any(Number) });
    // One course came back where five were asked for: the actual cost is below the estimate.
    expect(cost.actual!).toBeLessThan(cost.estimated!);
    expect(await catalogCalls()).toBe(before + 1);
  });

  it('charges what operations actually cost to the organization’s budget, and refuses once it is spent', async () => {
    const g = await gateway({ COST_BUDGET_PER_MINUTE: '2' });
    const query = { query: '{ courses(first: 20) { nodes { id title authors { id } } } }' };
    const first = await post(g.url, query, tokens.aLearner);
    expect(first.errors).toBeUndefined();
    // The first took the budget into debt; the organization waits, another does not.
    const refused = await post(g.url, query, tokens.aAdmin);
    expect(refused).toMatchObject({ status: 429, errors: [{ extensions: { code: 'RATE_LIMITED', limit: 'cost' } }] });
    expect((await post(g.url, query, tokens.bLearner)).errors).toBeUndefined();
  });
});

describe('response cache', () => {
  /** How many GraphQL requests catalog has answered (its own metrics). */
  const catalogCalls = async () => {
    const text = await (await fetch(new URL('/metrics', stack.catalog.url))).text();
    return [...text.matchAll(/lectern_http_request_duration_seconds_count\{[^}]*route="graphql"[^}]*\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const page = '{ courses(first: 20) { totalCount nodes { id title } } }';
  async function read(token: string, query = page) {
    const res = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
    const body = (await res.json()) as { data: { courses: { nodes: { id: string; title: string }[] } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    return { cache: res.headers.get('x-cache'), titles: body.data.courses.nodes.map((n) => n.title).sort() };
  }

  it('serves a catalog page without calling catalog, per organization, and forgets a course once it is unpublished', async () => {
    const worker = await startCatalogWorker(catalogWorkerEnv({ ...stack.db.env, IDENTITY_URL: stack.identity.url, CATALOG_URL: stack.catalog.url, WORKER_PORT: '0' }));
    try {
      const extra = await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorIds: [A.admin.id], title: 'Acme extra', published: true });
      // Its CoursePublished reaches the gateway too: wait for a fresh answer that has it.
      await until(async () => (await read(tokens.aLearner)).titles.includes('Acme extra'));
      await until(async () => (await read(tokens.aLearner)).cache === 'HIT');
      const before = await catalogCalls();
      expect(await read(tokens.aLearner)).toEqual({ cache: 'HIT', titles: ['Acme extra', 'Acme safety'] });
      expect(await catalogCalls()).toBe(before);
      // Another organization never gets A's answer.
      expect((await read(tokens.bLearner)).titles).toEqual(['Globex safety']);

      // Unpublished at catalog itself (not through this gateway): its event clears A's answers.
      const unpublished = await gql(stack.catalog.url, 'mutation($input: UnpublishCourseInput!) { unpublishCourse(input: $input) { errors { code } } }', { input: { courseId: globalId('Course', extra.id), idempotencyKey: idem() } }, { actor: actor({ tenantId: A.org.id, userId: A.admin.id, roles: ['ORG_ADMIN'] }) });
      expect(unpublished.data?.unpublishCourse.errors).toEqual([]);
      // Within moments (34 ms measured here; the relay wakes on the commit's NOTIFY).
      await until(async () => !(await read(tokens.aLearner)).titles.includes('Acme extra'), Boolean, 5000);

      // Through the gateway, the next answer no longer has it: the write invalidates at once.
      await until(async () => (await read(tokens.aLearner)).cache === 'HIT');
      const again = await gql(stack.url, 'mutation($input: UnpublishCourseInput!) { unpublishCourse(input: $input) { errors { code } } }', { input: { courseId: globalId('Course', courseIds.a), idempotencyKey: idem() } }, { token: tokens.aAdmin });
      expect(again.data?.unpublishCourse.errors).toEqual([]);
      expect((await read(tokens.aLearner)).titles).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it('keeps authors’ answers to themselves (they see drafts)', async () => {
    const query = '{ courses(first: 20) { nodes { title status } } }';
    const seen = await read(tokens.aAdmin, query);
    expect(seen.cache).toBe('MISS');
    const res = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.aAdmin}` }, body: JSON.stringify({ query }) });
    expect(res.headers.get('x-cache')).toBe('HIT');
    expect(res.headers.get('cache-control')).toMatch(/^private/);
  });

  it('makes one subgraph call for 500 concurrent misses on one key', async () => {
    const query = `{ courses(first: 5) { nodes { id title } } } # ${randomUUID()}`;
    const before = await catalogCalls();
    const answers = await Promise.all(Array.from({ length: 500 }, () => read(tokens.bLearner, query)));
    expect(answers.every((a) => a.titles.join() === 'Globex safety')).toBe(true);
    expect(await catalogCalls()).toBe(before + 1);
  });
});
