// Hosts one subgraph's background work in its own process: the outbox relay for the
// subgraph's schema, the consumer of its event queue, its job queue and schedules, plus
// /healthz, /readyz and /metrics. Closes everything gracefully on SIGTERM.
import client from 'prom-client';
import type { Queue, Worker } from 'bullmq';
import { connectionString, explainDatabaseError, RELAY_ROLE, type Migration } from './db.ts';
import type { BaseEnv, DatabaseEnv } from './env.ts';
import { createHttpHost, installShutdown } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createOrm, type AnyEntitySchema, type MikroORM } from './orm.ts';
import { createRedis, waitForRedis, type Redis } from './redis.ts';
import { OutboxRelay } from './relay.ts';
import { startConsumer, startJobWorker, type EventHandler, type JobDefinition, type WorkerMetrics } from './consumers.ts';
import { assertNoEviction, bullPrefix, eventQueueName, queueFactory, workerConnection, type QueueFactory } from './queues.ts';

export type WorkerEnv = BaseEnv & DatabaseEnv & { WORKER_PORT: number; RELAY_DATABASE_PASSWORD?: string | undefined };

export const jobQueueName = (subgraph: string) => `jobs-${subgraph}`;

export interface WorkerDeps<Env> {
  name: string;
  env: Env;
  orm: MikroORM;
  redis: Redis;
  queues: QueueFactory;
  log: Logger;
  metrics: Metrics;
  relay: OutboxRelay;
}

/**
 * One subgraph's background process. `Runtime` holds its process-wide pieces (mail transport,
 * clients of other contexts, flushers...): `runtime` builds them once, after the ORM and Redis
 * are up; `handlers`, `jobs`, `init` and `close` receive them. Without any, `Runtime` is `void`.
 */
export interface WorkerDefinition<Env extends WorkerEnv, Runtime = void> {
  /** The subgraph (and its schema). */
  name: string;
  entities: AnyEntitySchema[];
  migrations: Migration[];
  /** Event type → consuming contexts, for this subgraph's outbox (from the consumers' contracts). */
  routes: Record<string, string[]>;
  /** Builds the process-wide pieces once, before handlers and jobs. */
  runtime?: (deps: WorkerDeps<Env>) => Promise<Runtime> | Runtime;
  /** Handlers of the events this subgraph consumes (queue events-<name>). */
  handlers?: (deps: WorkerDeps<Env>, runtime: Runtime) => EventHandler[];
  /** Jobs of queue jobs-<name>. */
  jobs?: (deps: WorkerDeps<Env>, runtime: Runtime) => JobDefinition[];
  /** Runs once at start: job schedulers and the like. */
  init?: (deps: WorkerDeps<Env>, runtime: Runtime) => Promise<void>;
  /** Releases what `runtime` built (after the consumers stopped, before queues, Redis and the ORM). */
  close?: (deps: WorkerDeps<Env>, runtime: Runtime) => Promise<void>;
  concurrency?: number;
  lockDuration?: number;
  stalledInterval?: number;
}

export interface RunningWorker<Env, Runtime = unknown> {
  deps: WorkerDeps<Env>;
  runtime: Runtime;
  url: string;
  close(): Promise<void>;
}

function workerMetrics(metrics: Metrics): WorkerMetrics {
  const duration = new client.Histogram({
    name: 'lectern_job_duration_seconds',
    help: 'Background job duration',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [metrics.registry],
  });
  const dead = new client.Counter({ name: 'lectern_dead_letters_total', help: 'Jobs that exhausted their attempts', labelNames: ['queue'] as const, registers: [metrics.registry] });
  return {
    jobDuration: (queue, outcome, seconds) => duration.observe({ queue, outcome }, seconds),
    deadLettered: (queue) => dead.inc({ queue }),
  };
}

export async function startWorker<Env extends WorkerEnv, Runtime = void>(
  def: WorkerDefinition<Env, Runtime>,
  env: Env,
  opts: { port?: number; log?: Logger } = {},
): Promise<RunningWorker<Env, Runtime>> {
  const log = opts.log ?? createLogger(`${def.name}-worker`, env.LOG_LEVEL);
  const metrics = createMetrics(`${def.name}-worker`);
  const redis = createRedis(env.REDIS_URL);
  await waitForRedis(redis, env.REDIS_URL).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  try {
    await assertNoEviction(redis);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: def.name, entities: def.entities, password: env.DATABASE_PASSWORD, poolMax: env.DATABASE_POOL_MAX });
  try {
    await orm.em.fork().execute('select 1');
  } catch (err) {
    redis.disconnect();
    await orm.close().catch(() => {});
    throw new Error(explainDatabaseError(err, env.DATABASE_URL), { cause: err });
  }
  const prefix = bullPrefix(env.REDIS_PREFIX);
  const queueConnection = workerConnection(env.REDIS_URL);
  const queues = queueFactory(queueConnection, prefix);
  const relay = new OutboxRelay({
    url: connectionString(env.DATABASE_URL, { user: RELAY_ROLE, password: env.RELAY_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD }),
    schema: def.name,
    routes: def.routes,
    queue: queues,
    log,
  });
  const deps: WorkerDeps<Env> = { name: def.name, env, orm, redis, queues, log, metrics, relay };
  // Without a `runtime` builder, Runtime is void.
  const runtime = (await def.runtime?.(deps)) as Runtime;
  const wm = workerMetrics(metrics);
  const workers: { worker: Worker; connection: Redis }[] = [];
  const common = { orm, prefix, log, metrics: wm, concurrency: def.concurrency, lockDuration: def.lockDuration, stalledInterval: def.stalledInterval };
  const handlers = def.handlers?.(deps, runtime) ?? [];
  if (handlers.length) {
    const connection = workerConnection(env.REDIS_URL);
    workers.push({ worker: startConsumer({ ...common, consumer: def.name, handlers, connection }), connection });
  }
  const jobs = def.jobs?.(deps, runtime) ?? [];
  if (jobs.length) {
    const connection = workerConnection(env.REDIS_URL);
    workers.push({ worker: startJobWorker(jobs, { ...common, queue: jobQueueName(def.name), connection }), connection });
  }
  await def.init?.(deps, runtime);
  await relay.start();

  // Queue depth and outbox backlog, read when Prometheus scrapes.
  const watched: Queue[] = [...(handlers.length ? [queues(eventQueueName(def.name))] : []), ...(jobs.length ? [queues(jobQueueName(def.name))] : [])];
  new client.Gauge({
    name: 'lectern_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'] as const,
    registers: [metrics.registry],
    async collect() {
      for (const q of watched) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed').catch(() => ({}) as Record<string, number>);
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });
  new client.Gauge({
    name: 'lectern_outbox_pending',
    help: 'Events recorded but not yet relayed',
    registers: [metrics.registry],
    async collect() {
      this.set(await relay.pending().catch(() => -1));
    },
  });

  const host = createHttpHost({
    log,
    metrics,
    readiness: {
      database: async () => {
        await orm.em.fork().execute('select 1');
      },
      redis: async () => {
        await redis.ping();
      },
      outbox: async () => {
        await relay.pending();
      },
    },
  });
  const url = await host.listen(opts.port ?? env.WORKER_PORT, env.HOST);
  log.info({ url, queues: watched.map((q) => q.name) }, `${def.name} worker running`);
  let closed = false;
  return {
    deps,
    runtime,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await host.close();
      // Let running jobs finish; unfinished ones are retried by another worker after their lock.
      await Promise.all(workers.map((w) => w.worker.close()));
      await relay.stop();
      await def.close?.(deps, runtime);
      await queues.close();
      for (const w of workers) w.connection.disconnect();
      queueConnection.disconnect();
      redis.disconnect();
      await orm.close();
    },
  };
}

export async function runWorker<Env extends WorkerEnv, Runtime = void>(def: WorkerDefinition<Env, Runtime>, env: Env) {
  const log = createLogger(`${def.name}-worker`, env.LOG_LEVEL);
  try {
    const running = await startWorker(def, env, { log });
    installShutdown(log, [() => running.close()], env.SHUTDOWN_GRACE_MS);
  } catch (err) {
    log.fatal({ err }, `${def.name} worker failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}
