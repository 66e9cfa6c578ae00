// What the rest of the repository may start or wire up: the subgraph, its worker, and its migrations and
// entities (scripts run them; tests start it in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { CatalogEnv, CatalogWorkerEnv } from './env.ts';
import { catalog } from './subgraph.ts';
import { catalogWorker } from './worker.ts';

/** Starts the catalog subgraph (in-process for tests; main.ts for the real process). */
export function startCatalog(env: CatalogEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<CatalogEnv>> {
  return startSubgraph(catalog, env, opts);
}

/** Starts the catalog worker (its outbox relay: CoursePublished, CourseUnpublished to their consumers). */
export function startCatalogWorker(env: CatalogWorkerEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<CatalogWorkerEnv>> {
  return startWorker(catalogWorker, env, opts);
}

export { catalog, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, loadWorkerEnv, type CatalogEnv, type CatalogWorkerEnv } from './env.ts';
