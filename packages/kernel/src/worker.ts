// Hosts one subgraph's background work in its own process: the outbox relay for the
// subgraph's schema, the consumer of its event queue, its job queue and schedules, the kernel's
// retention job, plus /healthz, /readyz and /metrics. Closes everything gracefully on SIGTERM.
//
// Retention (retention.ts): every worker upserts the `retention` job scheduler on its queue
// kernel-<name>; one run per RETENTION_INTERVAL_MINUTES purges its schema's published outbox
// rows, processed events and dead letters older than RETENTION_DAYS, expired idempotency keys,
// and its queues' exhausted failed jobs.
//
// Redis outages, without restarts: BullMQ workers wait through a reconnect on their blocking
// connections and resume by themselves; producers (deps.queues, the relay) fail fast while Redis
// is down (queues.ts), so the relay rolls back and retries. A RedisWatch (redis.ts) notices Redis
// coming back, or coming back empty, and then, in order: re-upserts the retention scheduler;
// after data loss, has the relay deliver again the events it published in the last
// REDIS_LOSS_REPLAY_MINUTES (their jobs may not have run; consumers apply each event once);
// wakes the relay; and runs the definition's `redisRecovered(deps, runtime, reason)` hook, where
// a subgraph re-creates what it keeps in Redis (stream consumer groups, its own job schedulers)
// and re-enqueues work it accepted meanwhile. Handlers are retried every second until they all
// succeed, so they must be idempotent. Runtime pieces may also subscribe with
// `deps.redisWatch.onRecovered(fn)`. /readyz answers 503 with `"redis": "down"` while Redis does
// not answer, `"queues"` while the BullMQ connections are still reconnecting, and whatever the
// definition's own `readiness` checks report (e.g. a flusher that cannot flush).
//
// Settings: `workerKernelEnv` below (RETENTION_*, REDIS_LOSS_REPLAY_MINUTES), with defaults.
//
// Tracing (tracing.ts): runWorker starts it (on only when the OTEL_* variables ask; service name
// lectern-<name>-worker) and flushes it last on shutdown; consumers.ts and relay.ts make the spans.
import client from 'prom-client';
import type { Queue, Worker } from 'bullmq';
import { connectionString, explainDatabaseError, RELAY_ROLE, type Migration } from './db.ts';
import type { BaseEnv, DatabaseEnv } from './env.ts';
import { createHttpHost, installShutdown } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createOrm, type AnyEntitySchema, type MikroORM } from './orm.ts';
import { createRedis, recoveryEnv, redisReadiness, RedisWatch, waitForRedis, type RecoveryEnv, type RecoveryReason, type Redis } from './redis.ts';
import { OutboxRelay } from './relay.ts';
import { startConsumer, startJobWorker, type EventHandler, type JobDefinition, type WorkerMetrics } from './consumers.ts';
import { assertNoEviction, bullPrefix, eventQueueName, JOB_DEFAULTS, producerConnection, queueFactory, workerConnection, type QueueFactory } from './queues.ts';
import { kernelQueueName, retentionEnv, retentionSettings, startRetention, type RetentionEnv } from './retention.ts';
import { startTracing } from './tracing.ts';

/**
 * The kernel's worker settings (retention, recovery), parsed with zod where a subgraph parses its
 * environment: `baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape)...`. A worker whose
 * env lacks them runs with the defaults.
 */
export const workerKernelEnv = retentionEnv.extend(recoveryEnv.shape);
export type WorkerKernelEnv = RetentionEnv & RecoveryEnv;

export type WorkerEnv = BaseEnv & DatabaseEnv & { WORKER_PORT: number; RELAY_DATABASE_PASSWORD?: string | undefined } & Partial<WorkerKernelEnv>;

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
  /** Redis going down and coming back: `onRecovered(fn)` (see the header). */
  redisWatch: RedisWatch;
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
  /**
   * Runs each time Redis answers again after an outage (`reconnected`) or without its data
   * (`data-lost`), after the kernel re-created its own pieces: re-create consumer groups and job
   * schedulers, re-enqueue work accepted meanwhile. Idempotent; retried every second until it succeeds.
   */
  redisRecovered?: (deps: WorkerDeps<Env>, runtime: Runtime, reason: RecoveryReason) => Promise<void>;
  /**
   * The subgraph's own readiness checks, reported by /readyz beside the kernel's (database,
   * redis, queues, outbox): each resolves when that piece works, or throws a short reason.
   */
  readiness?: (deps: WorkerDeps<Env>, runtime: Runtime) => Record<string, () => Promise<void>>;
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
  // The worker's own keys (e.g. heartbeat flushes) may run longer commands than a request's.
  const redis = createRedis(env.REDIS_URL, { commandTimeout: 10_000 });
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
  const queueConnection = producerConnection(env.REDIS_URL);
  const queues = queueFactory(queueConnection, prefix, JOB_DEFAULTS, { failFast: true });
  const relay = new OutboxRelay({
    url: connectionString(env.DATABASE_URL, { user: RELAY_ROLE, password: env.RELAY_DATABASE_PASSWORD ?? env.DATABASE_PASSWORD }),
    schema: def.name,
    routes: def.routes,
    queue: queues,
    log,
  });
  const redisWatch = new RedisWatch(redis, { key: `${env.REDIS_PREFIX}kernel:alive:${def.name}`, log });
  await redisWatch.start();
  const deps: WorkerDeps<Env> = { name: def.name, env, orm, redis, queues, log, metrics, relay, redisWatch };
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
  const retentionConnection = workerConnection(env.REDIS_URL);
  const retention = startRetention({
    name: def.name,
    orm,
    queue: queues,
    queueNames: [...(handlers.length ? [eventQueueName(def.name)] : []), ...(jobs.length ? [jobQueueName(def.name)] : [])],
    connection: retentionConnection,
    prefix,
    settings: retentionSettings(env),
    log,
  });
  workers.push({ worker: retention.worker, connection: retentionConnection });
  await retention.schedule();
  await def.init?.(deps, runtime);
  await relay.start();
  redisWatch.onRecovered(() => retention.schedule());
  const replayMinutes = recoveryEnv.parse({ REDIS_LOSS_REPLAY_MINUTES: env.REDIS_LOSS_REPLAY_MINUTES }).REDIS_LOSS_REPLAY_MINUTES;
  redisWatch.onRecovered(async (reason) => {
    if (reason === 'data-lost' && replayMinutes > 0) await relay.republishSince(new Date(Date.now() - replayMinutes * 60_000));
    relay.wake();
  });
  if (def.redisRecovered) redisWatch.onRecovered((reason) => def.redisRecovered!(deps, runtime, reason));

  // Queue depth and outbox backlog, read when Prometheus scrapes.
  const watched: Queue[] = [
    ...(handlers.length ? [queues(eventQueueName(def.name))] : []),
    ...(jobs.length ? [queues(jobQueueName(def.name))] : []),
    queues(kernelQueueName(def.name)),
  ];
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
      redis: redisReadiness(redis),
      // The BullMQ workers' and producers' connections (they reconnect by themselves).
      queues: async () => {
        const down = [queueConnection, ...workers.map((w) => w.connection)].filter((c) => c.status !== 'ready');
        if (down.length) throw new Error(`reconnecting (${down.length})`);
      },
      outbox: async () => {
        await relay.pending();
      },
      ...def.readiness?.(deps, runtime),
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
      await redisWatch.stop();
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
    const tracing = await startTracing(`${def.name}-worker`, undefined, { log });
    const running = await startWorker(def, env, { log });
    installShutdown(log, [() => running.close(), () => tracing.shutdown()], env.SHUTDOWN_GRACE_MS);
  } catch (err) {
    log.fatal({ err }, `${def.name} worker failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}
