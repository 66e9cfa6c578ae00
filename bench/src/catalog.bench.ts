import os from 'node:os';
import autocannon from 'autocannon';
import { actor, actorHeader, createTestDatabase, idem } from '@lectern/testkit';
import { createOrm } from '@lectern/kernel/orm';
import { entities as identityEntities, migrations as identityMigrations } from '@lectern/identity/server';
import { entities as catalogEntities, migrations as catalogMigrations } from '@lectern/catalog/server';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { children, waitReady } from '../../scripts/processes.ts';
import { benchEnv } from './env.ts';

const { BENCH_DURATION: DURATION_S, BENCH_ROUNDS: ROUNDS, BENCH_CONNECTIONS: CONNECTIONS } = benchEnv;

const GATEWAY_QUERY = '{ courses(first: 50) { nodes { id title status authors { id displayName } } } }';
// What the gateway's query plan asks of catalog for the same operation.
const CATALOG_QUERY = '{ courses(first: 50) { nodes { id title status authors { __typename id } } } }';

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function load(url: string, headers: Record<string, string>, query: string): Promise<Sample> {
  const r = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

export async function catalogBench() {
  const db = await createTestDatabase({ identity: identityMigrations, catalog: catalogMigrations }, 'bench');
  const procs = children({ quiet: true });
  try {
    const identityOrm = await createOrm({ databaseUrl: db.url, schema: 'identity', entities: identityEntities });
    const catalogOrm = await createOrm({ databaseUrl: db.url, schema: 'catalog', entities: catalogEntities });
    const people = await seedOrganizationWithPeople(identityOrm, 'bench');
    for (let i = 0; i < 60; i++) {
      await seedCourse(catalogOrm, { tenantId: people.org.id, authorIds: [people.admin.id, people.instructor.id], title: `Bench course ${i}`, published: true });
    }
    await identityOrm.close();
    await catalogOrm.close();

    const env = { ...db.env, LOG_LEVEL: 'warn', NODE_ENV: 'production', ACTOR_SIGNING_KEY: '', ACTOR_VERIFY_KEY: '' };
    // production settings, development keys (passed explicitly since production demands keys)
    const { DEV_ACTOR_PRIVATE_KEY, DEV_ACTOR_PUBLIC_KEY, DEV_IDENTITY_PRIVATE_KEY } = await import('@lectern/kernel/dev-keys');
    Object.assign(env, { ACTOR_SIGNING_KEY: DEV_ACTOR_PRIVATE_KEY, ACTOR_VERIFY_KEY: DEV_ACTOR_PUBLIC_KEY, IDENTITY_JWT_PRIVATE_KEY: DEV_IDENTITY_PRIVATE_KEY, INTROSPECTION: 'false', PLAYGROUND: 'false' });
    const base = 24_000 + Math.floor(Math.random() * 1000);
    procs.start('identity', 'subgraphs/identity/src/main.ts', { ...env, PORT: String(base + 1) });
    procs.start('catalog', 'subgraphs/catalog/src/main.ts', { ...env, PORT: String(base + 2) });
    await waitReady(`http://127.0.0.1:${base + 1}/readyz`);
    await waitReady(`http://127.0.0.1:${base + 2}/readyz`);
    procs.start('gateway', 'gateway/src/main.ts', {
      ...env,
      PORT: String(base),
      IDENTITY_URL: `http://127.0.0.1:${base + 1}/graphql`,
      CATALOG_URL: `http://127.0.0.1:${base + 2}/graphql`,
    });
    await waitReady(`http://127.0.0.1:${base}/readyz`);
    const gatewayUrl = `http://127.0.0.1:${base}/graphql`;
    const catalogUrl = `http://127.0.0.1:${base + 2}/graphql`;

    const login = (await (
      await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }',
          variables: { i: { email: people.learner.email, password: TEST_PASSWORD, organizationSlug: 'bench', idempotencyKey: idem() } },
        }),
      })
    ).json()) as { data: { login: { accessToken: string } } };
    const token = login.data.login.accessToken;
    const learner = actor({ userId: people.learner.id, tenantId: people.org.id, roles: ['LEARNER'] });

    // sanity: both return 50 courses
    const check = async (url: string, headers: Record<string, string>, query: string) => {
      const r = (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) })).json()) as {
        data?: { courses: { nodes: unknown[] } };
      };
      if (r.data?.courses.nodes.length !== 50) throw new Error(`unexpected response from ${url}: ${JSON.stringify(r).slice(0, 300)}`);
    };
    await check(gatewayUrl, { authorization: `Bearer ${token}` }, GATEWAY_QUERY);

    const gateway: Sample[] = [];
    const direct: Sample[] = [];
    console.log(`catalog bench: ${ROUNDS} rounds × ${DURATION_S}s each side, ${CONNECTIONS} connections, alternating`);
    for (let round = 1; round <= ROUNDS; round++) {
      // A fresh actor context each round: it is valid for 60 s.
      const actorHeaders = { 'x-lectern-actor': await actorHeader(learner) };
      await check(catalogUrl, actorHeaders, CATALOG_QUERY);
      const g = await load(gatewayUrl, { authorization: `Bearer ${token}` }, GATEWAY_QUERY);
      const d = await load(catalogUrl, actorHeaders, CATALOG_QUERY);
      gateway.push(g);
      direct.push(d);
      console.log(`  round ${round}: gateway ${g.rps.toFixed(0)} req/s p50 ${g.p50} ms p99 ${g.p99} ms | catalog ${d.rps.toFixed(0)} req/s p50 ${d.p50} ms p99 ${d.p99} ms`);
    }
    const summary = (xs: Sample[]) => ({
      rps: median(xs.map((x) => x.rps)),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      errors: xs.reduce((n, x) => n + x.errors + x.non2xx, 0),
    });
    const g = summary(gateway);
    const d = summary(direct);
    const ratio = { rps: g.rps / d.rps, p50: g.p50 / d.p50, p99: g.p99 / d.p99 };
    console.log('\nmedians            req/s     p50 ms   p99 ms   errors');
    console.log(`gateway (federated) ${g.rps.toFixed(0).padStart(6)}   ${String(g.p50).padStart(6)}   ${String(g.p99).padStart(6)}   ${g.errors}`);
    console.log(`catalog (direct)    ${d.rps.toFixed(0).padStart(6)}   ${String(d.p50).padStart(6)}   ${String(d.p99).padStart(6)}   ${d.errors}`);
    console.log(`gateway / catalog   ${ratio.rps.toFixed(2).padStart(6)}   ${ratio.p50.toFixed(2).padStart(6)}   ${ratio.p99.toFixed(2).padStart(6)}`);
    return {
      bench: 'catalog',
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      settings: { durationSeconds: DURATION_S, rounds: ROUNDS, connections: CONNECTIONS, pageSize: 50 },
      queries: { gateway: GATEWAY_QUERY, catalog: CATALOG_QUERY },
      gateway: { median: g, rounds: gateway },
      catalog: { median: d, rounds: direct },
      ratio,
    };
  } finally {
    await procs.stop();
    await db.drop();
  }
}
