// What the rest of the repository may start or wire up: the subgraph and its migrations and
// entities (scripts run them; tests start it in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import type { CatalogEnv } from './env.ts';
import { catalog } from './subgraph.ts';

/** Starts the catalog subgraph (in-process for tests; main.ts for the real process). */
export function startCatalog(env: CatalogEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<CatalogEnv>> {
  return startSubgraph(catalog, env, opts);
}

export { catalog, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type CatalogEnv } from './env.ts';
