// Health, readiness, metrics and production defaults of every process, and startup
// failures that name what to start.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '@lectern/testkit';
import { DEV_ACTOR_PRIVATE_KEY } from '@lectern/kernel/dev-keys';
import { devServiceKey } from '@lectern/kernel/service-auth';
import { loadEnv as gatewayEnv, startGateway } from '@lectern/gateway/server';
import { loadEnv as catalogEnv, startCatalog } from '@lectern/catalog/server';
import { startStack, type Stack } from './src/harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('ops');
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const origin = (url: string) => new URL(url).origin;

describe('operability', () => {
  it('answers /healthz, /readyz and /metrics on the gateway and every subgraph', async () => {
    for (const url of [stack.url, stack.identity.url, stack.catalog.url]) {
      expect((await fetch(`${origin(url)}/healthz`)).status).toBe(200);
      const ready = await fetch(`${origin(url)}/readyz`);
      const body = (await ready.json()) as { status: string; checks: Record<string, string> };
      expect(ready.status).toBe(200);
      expect(body.status).toBe('ready');
      expect(Object.values(body.checks).every((c) => c === 'ok')).toBe(true);
      const metrics = await (await fetch(`${origin(url)}/metrics`)).text();
      expect(metrics).toContain('lectern_http_request_duration_seconds');
      expect(metrics).toContain('process_cpu_user_seconds_total');
    }
    const subgraphMetrics = await (await fetch(`${origin(stack.catalog.url)}/metrics`)).text();
    expect(subgraphMetrics).toContain('lectern_sql_statements_total');
    expect(Object.keys(((await (await fetch(`${origin(stack.catalog.url)}/readyz`)).json()) as { checks: object }).checks).sort()).toEqual(['database', 'redis']);
  });

  it('stays ready while a subgraph is down, reporting it degraded (body and metrics), and serves the others', async () => {
    const gw = await startGateway(gatewayEnv({ ...stack.db.env, IDENTITY_URL: stack.identity.url, CATALOG_URL: 'http://127.0.0.1:9/graphql' }));
    try {
      const ready = await fetch(`${origin(gw.url)}/readyz`);
      // Pulling a gateway out of rotation for one down subgraph is how cascades start.
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { status: string; checks: Record<string, string> };
      expect(body.status).toBe('degraded');
      expect(body.checks.identity).toBe('ok');
      expect(body.checks.identityKeys).toBe('ok');
      expect(body.checks.catalog).not.toBe('ok');
      const metrics = await (await fetch(`${origin(gw.url)}/metrics`)).text();
      expect(metrics).toMatch(/lectern_dependency_up\{[^}]*dependency="catalog"[^}]*\} 0/);
      expect(metrics).toMatch(/lectern_dependency_up\{[^}]*dependency="identity"[^}]*\} 1/);
      // identity's fields are still served.
      const r = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(r.status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('fails the fields of a subgraph that does not answer after SUBGRAPH_TIMEOUT_MS, and answers the rest', async () => {
    // A subgraph that takes requests and says nothing, as a SIGSTOPped process does.
    const silent = http.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const catalogUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/graphql`;
    const gw = await startGateway(gatewayEnv({ ...stack.db.env, IDENTITY_URL: stack.identity.url, CATALOG_URL: catalogUrl, SUBGRAPH_TIMEOUTS: 'catalog=500' }));
    try {
      const started = Date.now();
      const r = await gql(gw.url, `{ me { kind } courseBySlug(slug: "intro") { id } }`, {});
      expect(Date.now() - started).toBeLessThan(3000);
      expect(r.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      // The answer is partial, not `data: null`: identity's part is there (me: null, signed out), catalog's null with the error.
      expect(r.data).toEqual({ me: null, courseBySlug: null });
    } finally {
      await gw.close();
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it('turns introspection and the playground off in production unless configured', async () => {
    const env = { ...stack.db.env, NODE_ENV: 'production', ACTOR_SIGNING_KEY: DEV_ACTOR_PRIVATE_KEY, SERVICE_SIGNING_KEY: devServiceKey('gateway'), IDENTITY_URL: stack.identity.url, CATALOG_URL: stack.catalog.url };
    const prod = await startGateway(gatewayEnv(env));
    try {
      const r = await fetch(prod.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { types { name } } }' }) });
      expect(r.status).toBe(400);
      expect(await r.text()).toMatch(/introspection/i);
      expect((await fetch(`${origin(prod.url)}/playground`)).status).toBe(404);
    } finally {
      await prod.close();
    }
    const opted = await startGateway(gatewayEnv({ ...env, INTROSPECTION: 'true', PLAYGROUND: 'true' }));
    try {
      const r = await fetch(opted.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) });
      expect(((await r.json()) as { data: unknown }).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      expect((await fetch(`${origin(opted.url)}/playground`)).status).toBe(200);
    } finally {
      await opted.close();
    }
  });

  it('refuses to start in production without signing keys', async () => {
    await expect(startGateway(gatewayEnv({ NODE_ENV: 'production', ACTOR_SIGNING_KEY: '' }))).rejects.toThrow(/ACTOR_SIGNING_KEY must be set in production/);
    await expect(startGateway(gatewayEnv({ NODE_ENV: 'production', ACTOR_SIGNING_KEY: DEV_ACTOR_PRIVATE_KEY }))).rejects.toThrow(/SERVICE_SIGNING_KEY must be set in production/);
  });

  it('names what to start when Redis is not answering', async () => {
    await expect(startCatalog(catalogEnv({ ...stack.db.env, REDIS_URL: 'redis://127.0.0.1:9' }))).rejects.toThrow(/Redis is not answering at redis:\/\/127\.0\.0\.1:9/);
  });

  it('names what to start when PostgreSQL is not answering, and what to run when the database is not set up', async () => {
    await expect(startCatalog(catalogEnv({ ...stack.db.env, DATABASE_URL: 'postgres://127.0.0.1:9/lectern' }))).rejects.toThrow(/PostgreSQL is not answering at 127\.0\.0\.1:9: start it/);
    await expect(startCatalog(catalogEnv({ ...stack.db.env, DATABASE_URL: 'postgres://127.0.0.1:5432/lectern_missing_db' }))).rejects.toThrow(/not set up: run pnpm db:bootstrap/);
  });

  it('rejects invalid configuration with one line per problem', () => {
    expect(() => gatewayEnv({ PORT: 'eighty', IDENTITY_URL: 'not a url' })).toThrow(/PORT: .*\n\s+IDENTITY_URL: /);
  });
});
