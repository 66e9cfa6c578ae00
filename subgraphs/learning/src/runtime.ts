// Learning's process-wide pieces, built once at start through the definitions' `runtime`.
// The subgraph's: the lesson access cache and the heartbeat buffer on its Redis client, and
// catalog's client.
// The worker's: catalog's course structure, the lesson access cache, and the heartbeat flusher
// (with its own ORM, whose statements it counts: a flush costs a bounded number of
// statements, not one per beat).
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import type { WorkerDeps } from '@lectern/kernel/worker';
import { createOrm, type MikroORM } from '@lectern/kernel/orm';
import type { LearningEnv } from './env.ts';
import { AccessCache } from './modules/heartbeat/access-cache.ts';
import { HeartbeatBuffer } from './modules/heartbeat/buffer.ts';
import { HeartbeatFlusher } from './modules/heartbeat/flusher.ts';
import { catalogClient, type CatalogClient } from './modules/projection/catalog-client.ts';
import { entities } from './modules/progress/progress.entity.ts';

export interface SubgraphRuntime {
  cache: AccessCache;
  buffer: HeartbeatBuffer;
  /** catalog's internal endpoint (does a course exist in the organization; which lessons a version holds). */
  catalog: CatalogClient;
}

/** The subgraph's Redis client adds REDIS_PREFIX itself (keyPrefix): the helpers add none. */
export function createSubgraphRuntime(deps: SubgraphDeps<LearningEnv>): SubgraphRuntime {
  return { cache: new AccessCache(deps.redis, ''), buffer: new HeartbeatBuffer(deps.redis, ''), catalog: catalogClient(deps.env) };
}

export interface WorkerRuntime {
  catalog: CatalogClient;
  access: AccessCache;
  /** Started by the worker's init (unless FLUSHER_ENABLED=false). */
  flusher: HeartbeatFlusher | null;
  /** SQL statements sent by the flusher's ORM. */
  flushStats: { statements: number };
  /** Starts the heartbeat flusher (on its own ORM). */
  startFlusher(): Promise<HeartbeatFlusher>;
  /**
   * The worker's own readiness checks, beside the kernel's (database, redis, outbox): the
   * heartbeat flusher fails while flushes fail (Redis down or lost its groups beyond repair,
   * PostgreSQL failing), so /readyz says what cannot work.
   */
  readiness(): Record<string, () => Promise<void>>;
  close(): Promise<void>;
}

export function createWorkerRuntime(deps: WorkerDeps<LearningEnv>): WorkerRuntime {
  let flushOrm: MikroORM | undefined;
  const runtime: WorkerRuntime = {
    catalog: catalogClient(deps.env),
    // The worker's Redis client has no keyPrefix: keys carry REDIS_PREFIX themselves.
    access: new AccessCache(deps.redis, deps.env.REDIS_PREFIX),
    flusher: null,
    flushStats: { statements: 0 },
    readiness: () => ({
      heartbeatFlusher: async () => {
        if (deps.env.FLUSHER_ENABLED && !runtime.flusher) throw new Error('the heartbeat flusher has not started');
        await runtime.flusher?.check();
      },
    }),
    async close() {
      await runtime.flusher?.stop();
      await flushOrm?.close();
    },
    async startFlusher() {
      if (runtime.flusher) return runtime.flusher;
      flushOrm = await createOrm({
        databaseUrl: deps.env.DATABASE_URL,
        schema: deps.name,
        entities,
        password: deps.env.DATABASE_PASSWORD,
        poolMax: 4,
        onStatement: () => {
          runtime.flushStats.statements++;
        },
      });
      runtime.flusher = new HeartbeatFlusher({
        orm: flushOrm,
        redis: deps.redis,
        prefix: deps.env.REDIS_PREFIX,
        log: deps.log.child({ component: 'heartbeat-flusher' }),
        intervalMs: deps.env.FLUSH_INTERVAL_MS,
        batchPerShard: deps.env.FLUSH_BATCH_PER_SHARD,
        leaseMs: deps.env.FLUSH_LEASE_MS,
      });
      await runtime.flusher.ensureGroups();
      runtime.flusher.start();
      return runtime.flusher;
    },
  };
  return runtime;
}
