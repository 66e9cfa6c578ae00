// `pnpm bench catalog`: the catalog page (50 published courses with id, title, status and
// authors; 100 distinct author references) read by a learner, Lectern against a minimal
// baseline, side by side in one run on one scratch database:
//   catalog direct      Lectern's catalog subgraph  vs  bench/src/baseline/catalog.ts
//   federated page      Lectern's gateway           vs  a stock @apollo/gateway over the baselines
//                       (catalog + identity authors)
//   identity _entities  Lectern's identity subgraph vs  bench/src/baseline/identity.ts
//                       (the 100 author references the gateway sends for a page)
//   cached page         a gateway with the response cache on (RESPONSE_CACHE) answering a page
//                       of 50 courses from Redis  vs  the same page through the gateway without it
//                       (no authors: their names come from identity, which sends no cache hints)
// The whole Lectern stack runs (startBenchStack: the gateway's /readyz waits for every
// subgraph). Each target gets a warm-up, then BENCH_ROUNDS rounds of BENCH_DURATION seconds
// with BENCH_CONNECTIONS connections, Lectern and baseline alternating which goes first.
// The table shows medians: requests/s, latency, and CPU ms per page of each process.
import os from 'node:os';
import autocannon from 'autocannon';
import { actor, actorHeader } from '@lectern/testkit';
import { createOrm } from '@lectern/kernel/orm';
import { entities as identityEntities } from '@lectern/identity/server';
import { entities as catalogEntities } from '@lectern/catalog/server';
import { accessTokenFor, seedManyMembers, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import type { TestDatabase } from '@lectern/testkit';
import { benchEnv } from './env.ts';
import { startBaseline } from './baseline/start.ts';
import { load, summarize, type LoadTarget, type Sample } from './load.ts';
import { report, type Comparison } from './catalog.report.ts';
import { pool, startBenchStack, type Json } from './stack.ts';

const { BENCH_DURATION: DURATION_S, BENCH_ROUNDS: ROUNDS, BENCH_CONNECTIONS: CONNECTIONS, BENCH_WARMUP: WARMUP_S } = benchEnv;
const PAGE = 50;
const COURSES = 60;
/** Two distinct authors per course: a page references 100 different users. */
const AUTHORS = 2 * PAGE;

const GATEWAY_QUERY = `{ courses(first: ${PAGE}) { nodes { id title status authors { id displayName } } } }`;
// What the gateway's query plan asks of each subgraph for the same operation.
const CATALOG_QUERY = `{ courses(first: ${PAGE}) { nodes { id title status authors { __typename id } } } }`;
const CACHED_QUERY = `{ courses(first: ${PAGE}) { totalCount nodes { id slug title description status publishedAt } } }`;
const ENTITIES_QUERY = 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { displayName } } }';

/** An organization, a learner, 100 instructors and 60 published courses with two authors each. */
async function seed(db: TestDatabase) {
  const identityOrm = await createOrm({ databaseUrl: db.url, schema: 'identity', entities: identityEntities });
  const catalogOrm = await createOrm({ databaseUrl: db.url, schema: 'catalog', entities: catalogEntities });
  try {
    const people = await seedOrganizationWithPeople(identityOrm, 'bench');
    const authors = await seedManyMembers(identityOrm, people.org, { count: AUTHORS, prefix: 'author', roles: ['INSTRUCTOR'] });
    const author = (i: number) => authors[i % AUTHORS]!.id;
    await pool([...Array(COURSES).keys()], 4, async (i) => {
      await seedCourse(catalogOrm, { tenantId: people.org.id, authorIds: [author(2 * i), author(2 * i + 1)], title: `Bench course ${i}`, published: true });
    });
    // The learner's access token, of a real session (the gateway checks it is not signed out).
    return { ...people, learnerToken: await accessTokenFor(identityOrm, people.learner, people.org, 3600) };
  } finally {
    await identityOrm.close();
    await catalogOrm.close();
  }
}

async function graphql(target: LoadTarget): Promise<Json> {
  const res = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(await target.headers()) }, body: target.body });
  const body = (await res.json()) as Json;
  if (!res.ok || body.errors || !body.data) throw new Error(`${target.url} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.data;
}

/** Both sides must answer the same data, of the expected size, before anything is measured. */
async function sameAnswer(c: Comparison, check: (data: Json) => boolean) {
  const [a, b] = [await graphql(c.lectern), await graphql(c.baseline)];
  if (!check(a)) throw new Error(`${c.name}: unexpected answer from Lectern: ${JSON.stringify(a).slice(0, 300)}`);
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${c.name}: Lectern and baseline answer differently:\n${JSON.stringify(a).slice(0, 300)}\n${JSON.stringify(b).slice(0, 300)}`);
}

export async function catalogBench() {
  const stack = await startBenchStack({ label: 'bench-catalog' });
  try {
    const people = await seed(stack.db);
    const baseline = await startBaseline(stack.db, 34_000 + Math.floor(Math.random() * 1000) * 10);
    try {
      const tenant = async () => ({ 'x-tenant-id': people.org.id });
      const learner = actor({ userId: people.learner.id, tenantId: people.org.id, roles: ['LEARNER'] });
      const signed = async () => ({ 'x-lectern-actor': await actorHeader(learner) });
      const token = people.learnerToken;
      const body = (query: string, variables?: object) => JSON.stringify({ query, variables });
      const catalog: Comparison = {
        name: 'catalog direct',
        lectern: { url: stack.subgraphUrl('catalog'), headers: signed, body: body(CATALOG_QUERY), pids: { catalog: stack.pids.catalog! } },
        baseline: { url: baseline.catalogUrl, headers: tenant, body: body(CATALOG_QUERY), pids: { catalog: baseline.pids.catalog } },
      };
      // The representations the gateway sends identity for one page.
      const page = await graphql(catalog.lectern);
      const cachedGateway = await stack.startGateway('gateway-cached', { RESPONSE_CACHE: 'true' });
      const representations = page.courses.nodes.flatMap((n: Json) => n.authors);
      const comparisons: Comparison[] = [
        catalog,
        {
          name: 'federated page',
          lectern: {
            url: stack.gatewayUrl,
            headers: async () => ({ authorization: `Bearer ${token}` }),
            body: body(GATEWAY_QUERY),
            pids: { gateway: stack.pids.gateway!, catalog: stack.pids.catalog!, identity: stack.pids.identity! },
          },
          baseline: { url: baseline.gatewayUrl, headers: tenant, body: body(GATEWAY_QUERY), pids: { ...baseline.pids } },
        },
        {
          name: 'identity _entities',
          lectern: { url: stack.subgraphUrl('identity'), headers: signed, body: body(ENTITIES_QUERY, { representations }), pids: { identity: stack.pids.identity! } },
          baseline: { url: baseline.identityUrl, headers: tenant, body: body(ENTITIES_QUERY, { representations }), pids: { identity: baseline.pids.identity } },
        },
        {
          name: 'cached page',
          lectern: { url: cachedGateway, headers: async () => ({ authorization: `Bearer ${token}` }), body: body(CACHED_QUERY), pids: { gateway: stack.pids['gateway-cached']!, catalog: stack.pids.catalog! } },
          baseline: { url: stack.gatewayUrl, headers: async () => ({ authorization: `Bearer ${token}` }), body: body(CACHED_QUERY), pids: { gateway: stack.pids.gateway!, catalog: stack.pids.catalog! } },
        },
      ];
      const fullPage = (d: Json) => d.courses.nodes.length === PAGE && new Set(d.courses.nodes.flatMap((n: Json) => n.authors.map((a: Json) => a.id))).size === AUTHORS;
      await sameAnswer(comparisons[0]!, fullPage);
      await sameAnswer(comparisons[1]!, (d) => fullPage(d) && d.courses.nodes.every((n: Json) => n.authors.every((a: Json) => a.displayName)));
      await sameAnswer(comparisons[2]!, (d) => d._entities.length === AUTHORS && d._entities.every((u: Json) => u?.displayName));
      await sameAnswer(comparisons[3]!, (d) => d.courses.nodes.length === PAGE);
      // The cached gateway answers from Redis: catalog is not asked again.
      const asked = await fetch(cachedGateway, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body(CACHED_QUERY) });
      if (asked.headers.get('x-cache') !== 'HIT') throw new Error(`cached page: expected a cache hit, got x-cache ${asked.headers.get('x-cache')}`);

      console.log(`catalog bench: ${comparisons.length * 2} targets, ${WARMUP_S} s warm-up each, then ${ROUNDS} rounds × ${DURATION_S} s, ${CONNECTIONS} connections, alternating`);
      const opts = { connections: CONNECTIONS, database: stack.db.name };
      for (const c of comparisons) {
        for (const t of [c.lectern, c.baseline]) {
          if (WARMUP_S > 0) await autocannon({ url: t.url, method: 'POST', connections: CONNECTIONS, duration: WARMUP_S, headers: { 'content-type': 'application/json', ...(await t.headers()) }, body: t.body });
        }
      }
      const samples = new Map<Comparison, { lectern: Sample[]; baseline: Sample[] }>(comparisons.map((c) => [c, { lectern: [], baseline: [] }]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const c of comparisons) {
          const order = round % 2 ? (['lectern', 'baseline'] as const) : (['baseline', 'lectern'] as const);
          for (const side of order) samples.get(c)![side].push(await load(c[side], { ...opts, seconds: DURATION_S }));
          const [l, b] = [samples.get(c)!.lectern.at(-1)!, samples.get(c)!.baseline.at(-1)!];
          console.log(`  round ${round} ${c.name.padEnd(19)} Lectern ${l.rps.toFixed(0).padStart(5)} req/s p50 ${l.p50} p99 ${l.p99} | baseline ${b.rps.toFixed(0).padStart(5)} req/s p50 ${b.p50} p99 ${b.p99}`);
        }
      }
      console.log(`\nmachine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min; other work on the machine shows in req/s and latency more than in CPU per page)`);
      const results = comparisons.map((c) => ({ comparison: c, lectern: summarize(samples.get(c)!.lectern), baseline: summarize(samples.get(c)!.baseline) }));
      const verdicts = report(results);
      return {
        bench: 'catalog',
        at: new Date().toISOString(),
        machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg() },
        settings: { durationSeconds: DURATION_S, rounds: ROUNDS, connections: CONNECTIONS, warmupSeconds: WARMUP_S, pageSize: PAGE, authorRefsPerPage: AUTHORS },
        queries: { gateway: GATEWAY_QUERY, catalog: CATALOG_QUERY, entities: ENTITIES_QUERY, cached: CACHED_QUERY },
        results: results.map((r) => ({ name: r.comparison.name, lectern: { median: r.lectern, rounds: samples.get(r.comparison)!.lectern }, baseline: { median: r.baseline, rounds: samples.get(r.comparison)!.baseline } })),
        verdicts,
      };
    } finally {
      await baseline.close();
    }
  } finally {
    await stack.close();
  }
}
