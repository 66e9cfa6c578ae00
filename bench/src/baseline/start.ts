// Starts the baseline (bench/src/baseline/*.ts: two minimal subgraphs and a stock gateway) as
// child processes on the bench's scratch database, next to the Lectern stack, so the catalog
// bench can compare both in one run. Loopback only.
import { connectionString, runtimeRole } from '@lectern/kernel/db';
import type { TestDatabase } from '@lectern/testkit';
import { children } from '../../../scripts/processes.ts';

export interface Baseline {
  catalogUrl: string;
  identityUrl: string;
  gatewayUrl: string;
  pids: { catalog: number; identity: number; gateway: number };
  close(): Promise<void>;
}

/** Polls `{ __typename }` until the GraphQL server at `url` answers (stock servers have no /readyz). */
async function waitGraphQL(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

export async function startBaseline(db: TestDatabase, basePort: number): Promise<Baseline> {
  const procs = children({ quiet: true });
  const script = (name: string) => new URL(`./${name}.ts`, import.meta.url).pathname;
  const url = (port: number) => `http://127.0.0.1:${port}/graphql`;
  const env = { NODE_ENV: 'production', POOL_MAX: '10' };
  const dbAs = (subgraph: string) => connectionString(db.url, { user: runtimeRole(subgraph) });
  try {
    const identity = procs.start('b-identity', script('identity'), { ...env, PORT: String(basePort + 1), DATABASE_URL: dbAs('identity') }).pid ?? 0;
    const catalog = procs.start('b-catalog', script('catalog'), { ...env, PORT: String(basePort + 2), DATABASE_URL: dbAs('catalog') }).pid ?? 0;
    await waitGraphQL(url(basePort + 1));
    await waitGraphQL(url(basePort + 2));
    const gateway = procs.start('b-gateway', script('gateway'), { ...env, PORT: String(basePort), IDENTITY_URL: url(basePort + 1), CATALOG_URL: url(basePort + 2) }).pid ?? 0;
    await waitGraphQL(url(basePort));
    return {
      catalogUrl: url(basePort + 2),
      identityUrl: url(basePort + 1),
      gatewayUrl: url(basePort),
      pids: { catalog, identity, gateway },
      close: () => procs.stop(),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}
