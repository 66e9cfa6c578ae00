// Event consumers and background jobs. Each job runs in a tenant-scoped unit of work for
// its tenant (RLS active in workers too); for events, a processed_events row written in the
// same transaction as the effect makes the effect happen once however often the job runs.
// Bad payloads are UnrecoverableError at once; other failures retry with jittered backoff
// and, once exhausted, are kept as dead letters an operator can list and replay.
// Retention (retention.ts) purges processed_events rows and dead letters (rows, and the failed
// jobs left in BullMQ) after RETENTION_DAYS; replay works from the dead_letters row, so a
// letter can be replayed for as long as it is kept. Across a Redis outage these workers wait
// and resume by themselves (queues.ts workerConnection); see worker.ts for the recovery.
// Tracing on (tracing.ts), each job runs in a CONSUMER span (`consume <event type>`, `job <name>`)
// continuing the trace its producer left in the job's BullMQ telemetry metadata: the relay for
// events (relay.ts), enqueue() below for jobs added inside a span.
import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { envelopeSchema, type EventDefinition, type EventEnvelope } from './events.ts';
import type { Logger } from './logger.ts';
import { within } from './deadline.ts';
import { eventQueueName, MAX_ATTEMPTS } from './queues.ts';
import { inTenant, type UnitOfWork } from './uow.ts';
import { activeSpan, contextOfJob, inSpan, isTracing, jobTelemetry, SpanKind, traceHeaders } from './tracing.ts';

export interface HandlerContext<P> {
  em: EntityManager;
  uow: UnitOfWork;
  event: EventEnvelope<P>;
  log: Logger;
}

export interface EventHandler<E extends EventDefinition = EventDefinition> {
  event: E;
  handle(ctx: HandlerContext<z.infer<E['payload']>>): Promise<void>;
}

export function onEvent<E extends EventDefinition>(event: E, handle: EventHandler<E>['handle']): EventHandler<E> {
  return { event, handle };
}

export interface ConsumerOptions {
  /** The consuming context (its queue is events-<consumer>). */
  consumer: string;
  handlers: EventHandler[];
  orm: MikroORM;
  connection: Redis;
  prefix: string;
  log: Logger;
  concurrency?: number;
  /** Lock renewal and stalled-job detection (a killed worker's job reruns after lockDuration). */
  lockDuration?: number;
  stalledInterval?: number;
  metrics?: WorkerMetrics;
}

export interface WorkerMetrics {
  jobDuration(queue: string, outcome: 'completed' | 'failed', seconds: number): void;
  deadLettered(queue: string): void;
}

export interface DeadLetter {
  id: string;
  tenantId: string | null;
  queue: string;
  jobId: string;
  jobName: string;
  payload: unknown;
  error: string;
  attempts: number;
  failedAt: Date;
  replayedAt: Date | null;
  replayCount: number;
}

/** Connection trouble is logged (at most every 10 s), not thrown: the worker reconnects by itself. */
function quiet(worker: Worker, log: Logger): Worker {
  let last = 0;
  worker.on('error', (err) => {
    if (Date.now() - last > 10_000) log.warn({ err }, `worker ${worker.name}: ${err.message}`);
    last = Date.now();
  });
  return worker;
}

const isFinalAttempt = (job: Job, err: unknown) => err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

async function recordDeadLetter(orm: MikroORM, queue: string, job: Job, tenantId: string | null, err: unknown) {
  await inTenant(orm, tenantId, async (uow) => {
    const em = await uow.em();
    const schema = String(em.config.get('schema'));
    await em.execute(
      `insert into "${schema}".dead_letters (id, tenant_id, queue, job_id, job_name, payload, error, attempts)
       values (?, ?, ?, ?, ?, ?::jsonb, ?, ?)
       on conflict (queue, job_id) do update set error = excluded.error, attempts = excluded.attempts, failed_at = now()`,
      [randomUUID(), tenantId, queue, job.id ?? '', job.name, JSON.stringify(job.data ?? null), String((err as Error)?.message ?? err).slice(0, 2000), job.attemptsMade + 1],
    );
  });
}

function tenantOf(data: unknown): string | null {
  const t = (data as { tenantId?: unknown } | null)?.tenantId;
  return typeof t === 'string' && /^[0-9a-f-]{36}$/i.test(t) ? t : null;
}

/**
 * Wraps a processor with dead-lettering and metrics; shared by event consumers and jobs.
 * `onFinal` runs once a job has failed for good, after its dead letter is recorded.
 */
function guarded(
  queue: string,
  orm: MikroORM,
  log: Logger,
  metrics: WorkerMetrics | undefined,
  run: (job: Job) => Promise<unknown>,
  onFinal?: (job: Job, err: unknown) => Promise<void>,
) {
  return async (job: Job) => {
    const started = process.hrtime.bigint();
    try {
      const result = await run(job);
      metrics?.jobDuration(queue, 'completed', Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    } catch (err) {
      metrics?.jobDuration(queue, 'failed', Number(process.hrtime.bigint() - started) / 1e9);
      const final = isFinalAttempt(job, err);
      log.warn({ err, queue, jobId: job.id, attempt: job.attemptsMade + 1, final }, final ? 'job failed for good; dead-lettered' : 'job failed; will retry');
      if (final) {
        await recordDeadLetter(orm, queue, job, tenantOf(job.data), err).catch((e: unknown) => log.error({ err: e }, 'could not record dead letter'));
        metrics?.deadLettered(queue);
        await onFinal?.(job, err).catch((e: unknown) => log.error({ err: e, queue, jobId: job.id }, 'could not record the job’s failure'));
      }
      throw err;
    }
  };
}

/** Runs each job in a CONSUMER span `<verb> <job name>` continuing its producer's trace, while tracing is on. */
function traced(verb: 'consume' | 'job', queue: string, processor: (job: Job) => Promise<unknown>) {
  return (job: Job) => {
    if (!isTracing()) return processor(job);
    const attributes = {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queue,
      'messaging.message.id': job.id ?? '',
      'lectern.job.attempt': job.attemptsMade + 1,
    };
    return inSpan(`${verb} ${job.name}`, { kind: SpanKind.CONSUMER, attributes }, () => processor(job), contextOfJob(job.opts));
  };
}

/** BullMQ settings shared by event consumers and job workers. */
const workerOptions = (opts: Omit<ConsumerOptions, 'consumer' | 'handlers'>) => ({
  connection: opts.connection,
  prefix: opts.prefix,
  concurrency: opts.concurrency ?? 4,
  lockDuration: opts.lockDuration ?? 30_000,
  stalledInterval: opts.stalledInterval ?? 30_000,
  maxStalledCount: 2,
});

/** Starts the worker of one context's event queue. */
export function startConsumer(opts: ConsumerOptions): Worker {
  const queue = eventQueueName(opts.consumer);
  const byType = new Map(opts.handlers.map((h) => [h.event.type, h]));
  const process = async (job: Job) => {
    const envelope = envelopeSchema.safeParse(job.data);
    if (!envelope.success) throw new UnrecoverableError(`invalid event envelope: ${envelope.error.issues[0]?.message ?? 'unparseable'}`);
    const handler = byType.get(envelope.data.type);
    if (!handler) throw new UnrecoverableError(`${opts.consumer} has no handler for ${envelope.data.type}`);
    if (envelope.data.version !== handler.event.version) throw new UnrecoverableError(`${envelope.data.type} v${envelope.data.version} is not understood (v${handler.event.version} is)`);
    const payload = handler.event.payload.safeParse(envelope.data.payload);
    if (!payload.success) throw new UnrecoverableError(`invalid ${envelope.data.type} payload: ${payload.error.issues[0]?.message ?? ''}`);
    const event = { ...envelope.data, payload: payload.data };
    const log = opts.log.child({ consumer: opts.consumer, eventId: event.id, eventType: event.type, tenantId: event.tenantId });
    return applyEvent(opts.orm, opts.consumer, handler, event, log);
  };
  return quiet(new Worker(queue, traced('consume', queue, guarded(queue, opts.orm, opts.log, opts.metrics, process)), workerOptions(opts)), opts.log);
}

/**
 * Applies one validated event to `consumer` exactly once: the processed_events claim and the
 * handler in one transaction of the event's tenant ('duplicate' when the id was applied before).
 * The consumer worker runs it for every job; tests run it to apply an event as the worker would.
 */
export function applyEvent(orm: MikroORM, consumer: string, handler: EventHandler, event: EventEnvelope, log: Logger): Promise<'processed' | 'duplicate'> {
  return inTenant(orm, event.tenantId, (uow) =>
    uow.write(async (em) => {
      const schema = String(em.config.get('schema'));
      const claimed = await em.execute<{ event_id: string }[]>(
        `insert into "${schema}".processed_events (consumer, event_id, tenant_id) values (?, ?, ?) on conflict do nothing returning event_id`,
        [consumer, event.id, event.tenantId],
      );
      if (claimed.length === 0) return 'duplicate' as const;
      await handler.handle({ em, uow, event, log });
      return 'processed' as const;
    }),
  );
}

/**
 * Applies `event` through the handler of its type among `handlers`, as the consumer of
 * events-<consumer> does (payload parsed, applyEvent: once per event id): for tests, benchmarks
 * and seeds that deliver a context's events themselves.
 */
export function deliverEvent(orm: MikroORM, consumer: string, handlers: EventHandler[], event: EventEnvelope, log: Logger): Promise<'processed' | 'duplicate'> {
  const handler = handlers.find((h) => h.event.type === event.type);
  if (!handler) throw new Error(`${consumer} has no handler for ${event.type}`);
  return applyEvent(orm, consumer, handler, { ...event, payload: handler.event.payload.parse(event.payload) }, log);
}

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  queue: string;
  name: string;
  payload: S;
  run(ctx: { uow: UnitOfWork; data: z.infer<S>; job: Job; log: Logger }): Promise<unknown>;
  /**
   * Called once the job has failed for good (its last attempt, or an unrecoverable error),
   * after its dead letter is recorded: record the failure where people look for it (the
   * job's own status), in the payload's tenant. A replayed dead letter runs `run` again.
   */
  failed?(ctx: { uow: UnitOfWork; data: z.infer<S>; job: Job; log: Logger; attempts: number; reason: string }): Promise<void>;
}

/** A typed background job; its payload must carry `tenantId` (ids only). */
export function defineJob<S extends z.ZodType>(def: JobDefinition<S>): JobDefinition<S> {
  return def;
}

/**
 * Validates a job's payload before it is enqueued (bad input never reaches Redis). `delay`: run it
 * no sooner than this many ms from now. Added inside a span, the job continues its trace (see the header).
 */
export async function enqueue<S extends z.ZodType>(queue: Queue, def: JobDefinition<S>, data: z.input<S>, opts: { jobId?: string; delay?: number } = {}) {
  const parsed = def.payload.safeParse(data);
  if (!parsed.success) throw new Error(`invalid ${def.name} payload: ${parsed.error.issues[0]?.message ?? ''}`);
  if (opts.jobId?.includes(':')) throw new Error('BullMQ job ids may not contain ":"');
  const telemetry = isTracing() && activeSpan() ? jobTelemetry(traceHeaders()) : undefined;
  return queue.add(def.name, parsed.data, telemetry ? { ...opts, telemetry } : opts);
}

/** How long the request path waits for Redis to take a job before leaving it to a sweep. */
export const ENQUEUE_TIMEOUT_MS = 1000;

/**
 * Enqueues a job whose work PostgreSQL already holds (a row the worker's sweep re-enqueues from):
 * the fast path, bounded so a Redis outage never holds a request or a transaction's follow-up.
 * Waits at most ENQUEUE_TIMEOUT_MS and never throws; when Redis does not take the job, logs with
 * `about` that the sweep will. Resolves whether it was taken.
 */
export async function enqueueOrLeaveToSweep<S extends z.ZodType>(
  queue: Queue,
  def: JobDefinition<S>,
  data: z.input<S>,
  opts: { jobId?: string; delay?: number },
  log: Logger,
  about: Record<string, unknown>,
): Promise<boolean> {
  try {
    await within(ENQUEUE_TIMEOUT_MS, () => enqueue(queue, def, data, opts), `Redis did not take the job within ${ENQUEUE_TIMEOUT_MS} ms`);
    return true;
  } catch (err) {
    log.warn({ err, ...about, job: def.name }, "job not enqueued now; the worker's sweep will enqueue it once Redis answers");
    return false;
  }
}

/** Starts a worker for jobs of `defs` on their (shared) queue. */
export function startJobWorker(defs: JobDefinition[], opts: Omit<ConsumerOptions, 'consumer' | 'handlers'> & { queue: string }): Worker {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const process = async (job: Job) => {
    const def = byName.get(job.name);
    if (!def) throw new UnrecoverableError(`no job named ${job.name} on ${opts.queue}`);
    const parsed = def.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid ${job.name} payload: ${parsed.error.issues[0]?.message ?? ''}`);
    const tenantId = tenantOf(parsed.data);
    return inTenant(opts.orm, tenantId, (uow) => def.run({ uow, data: parsed.data, job, log: opts.log.child({ queue: opts.queue, jobId: job.id, tenantId }) }));
  };
  const failed = async (job: Job, err: unknown) => {
    const def = byName.get(job.name);
    const parsed = def?.failed ? def.payload.safeParse(job.data) : undefined;
    if (!def?.failed || !parsed?.success) return;
    const tenantId = tenantOf(parsed.data);
    const log = opts.log.child({ queue: opts.queue, jobId: job.id, tenantId });
    // The last attempt's error: BullMQ records it on the job only after this returns.
    const reason = err instanceof Error ? err.message : String(err);
    await inTenant(opts.orm, tenantId, (uow) => def.failed!({ uow, data: parsed.data, job, log, attempts: job.attemptsMade + 1, reason }));
  };
  return quiet(new Worker(opts.queue, traced('job', opts.queue, guarded(opts.queue, opts.orm, opts.log, opts.metrics, process, failed)), workerOptions(opts)), opts.log);
}

/**
 * A page of `tenantId`'s dead letters (null: those of no organization), newest first; `after` is
 * the (failedAt ISO, id) of the last row of the previous page, `id` narrows to one letter.
 */
export async function deadLetterPage(
  em: EntityManager,
  opts: { tenantId: string | null; limit: number; after?: [string, string] | null; id?: string },
): Promise<{ cursor: string; letter: DeadLetter }[]> {
  const schema = String(em.config.get('schema'));
  const where: string[] = ['tenant_id is not distinct from ?'];
  const params: unknown[] = [opts.tenantId];
  if (opts.after) {
    where.push('(failed_at, id) < (?::timestamptz, ?::uuid)');
    params.push(opts.after[0], opts.after[1]);
  }
  if (opts.id) {
    where.push('id = ?');
    params.push(opts.id);
  }
  params.push(opts.limit);
  const rows = await em.execute<Record<string, unknown>[]>(
    `select *, to_char(failed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
       from "${schema}".dead_letters where ${where.join(' and ')}
      order by failed_at desc, id desc limit ?`,
    params,
  );
  return rows.map((r) => ({
    cursor: String(r.cursor_at),
    letter: {
      id: r.id as string,
      tenantId: (r.tenant_id as string | null) ?? null,
      queue: r.queue as string,
      jobId: r.job_id as string,
      jobName: r.job_name as string,
      payload: r.payload,
      error: r.error as string,
      attempts: r.attempts as number,
      failedAt: new Date(r.failed_at as string),
      replayedAt: r.replayed_at ? new Date(r.replayed_at as string) : null,
      replayCount: r.replay_count as number,
    },
  }));
}

/** `tenantId`'s dead letters, newest first. */
export async function listDeadLetters(em: EntityManager, tenantId: string | null, limit = 100): Promise<DeadLetter[]> {
  return (await deadLetterPage(em, { tenantId, limit })).map((r) => r.letter);
}

/**
 * Re-enqueues a dead letter as a fresh job (new attempts). Event consumers still apply it
 * once: processed_events dedups by event id. Returns false when `tenantId` has no such dead letter.
 */
export async function replayDeadLetter(em: EntityManager, tenantId: string | null, id: string, queueFor: (name: string) => Queue): Promise<boolean> {
  const schema = String(em.config.get('schema'));
  const [row] = await em.execute<{ queue: string; job_id: string; job_name: string; payload: unknown; replay_count: number }[]>(
    `update "${schema}".dead_letters set replayed_at = now(), replay_count = replay_count + 1
      where tenant_id is not distinct from ? and id = ? returning queue, job_id, job_name, payload, replay_count`,
    [tenantId, id],
  );
  if (!row) return false;
  await queueFor(row.queue).add(row.job_name, row.payload, { jobId: `${row.job_id}-replay-${row.replay_count}` });
  return true;
}

export { MAX_ATTEMPTS };
