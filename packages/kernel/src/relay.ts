// Moves committed outbox rows to BullMQ, at least once. Rows are claimed with FOR UPDATE
// SKIP LOCKED (several relays may run), taken in seq order, and an event is not taken while
// an earlier event of the same aggregate is still unpublished, so each aggregate's events
// are enqueued in order. Nothing is skipped by a high-water mark: a row that commits late
// with a low seq is still unpublished and still found. LISTEN/NOTIFY wakes the relay on
// commit; polling covers a missed notification.
//
// Redis outages: enqueueing a batch is bounded by `enqueueTimeoutMs`; when it fails (the worker's
// producer connection refuses at once while Redis is down) the batch's transaction rolls back,
// its rows stay unpublished, and the relay retries every 2 s at most, so events recorded during
// an outage (the mutations that record them commit regardless) are delivered within seconds of
// Redis returning. The worker also calls `wake()` when its RedisWatch sees Redis back.
// When Redis comes back without its data, the jobs already delivered but not yet run are gone:
// the worker calls `republishSince(t)`, which marks the events published since t unpublished
// again (kernel SQL function outbox_republish), and the relay delivers them once more; consumers
// apply each event once (processed_events), so nothing happens twice.
//
// Tracing (tracing.ts): an event recorded inside a span has that span's traceparent on its row.
// The relay hands it on in its jobs' BullMQ telemetry metadata; while tracing is on it first
// starts a PRODUCER span `publish <type>` under it, ending when Redis took the batch, and hands
// on that span's context instead. The relay's own statements (polling) start no trace.
import pg from 'pg';
import type { JobsOptions, Queue } from 'bullmq';
import { within } from './deadline.ts';
import type { Logger } from './logger.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';
import { eventQueueName } from './queues.ts';
import type { EventEnvelope } from './events.ts';
import { Pause } from './pause.ts';
import { contextFrom, failSpan, isTraceparent, isTracing, jobTelemetry, SpanKind, spanHeaders, startSpan, type Span } from './tracing.ts';

export interface RelayOptions {
  /** Connection string as the relay role. */
  url: string;
  schema: string;
  /** Event type → consuming contexts. Events nobody consumes are marked published. */
  routes: Record<string, string[]>;
  queue(name: string): Queue;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  batchSize?: number;
  pollMs?: number;
  /** Longest wait for Redis to take a batch before the batch is rolled back and retried (default 10 s). */
  enqueueTimeoutMs?: number;
  /** Test hook: runs after enqueueing, before marking (a crash here must lose nothing). */
  afterEnqueue?: (events: EventEnvelope[]) => Promise<void> | void;
  onDelivered?: (events: EventEnvelope[]) => void;
}

interface OutboxRow {
  seq: string;
  id: string;
  tenant_id: string | null;
  type: string;
  version: number;
  aggregate_id: string;
  occurred_at: Date;
  payload: unknown;
  traceparent: string | null;
}

export class OutboxRelay {
  #opts: Required<Pick<RelayOptions, 'batchSize' | 'pollMs' | 'enqueueTimeoutMs'>> & RelayOptions;
  #pool: pg.Pool;
  #listener: pg.Client | undefined;
  #running = false;
  #pause = new Pause();
  #loop: Promise<void> | undefined;
  #lastFailureLog = 0;

  constructor(opts: RelayOptions) {
    this.#opts = { batchSize: 100, pollMs: 500, enqueueTimeoutMs: 10_000, ...opts };
    this.#pool = new pg.Pool({ connectionString: opts.url, max: 2 });
    this.#pool.on('error', (err) => opts.log.warn({ err }, 'relay pool error'));
  }

  async start(): Promise<void> {
    this.#running = true;
    await this.#listen();
    this.#loop = this.#run();
  }

  async #listen() {
    try {
      const client = new pg.Client({ connectionString: this.#opts.url });
      client.on('error', () => {
        this.#listener = undefined;
      });
      client.on('notification', (n) => {
        if (n.payload === this.#opts.schema) this.#pause.wake();
      });
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.#listener = client;
    } catch (err) {
      this.#opts.log.warn({ err }, 'relay could not LISTEN; polling only');
    }
  }

  async #run() {
    while (this.#running) {
      let moved = 0;
      try {
        moved = await this.drain();
      } catch (err) {
        // At most one line per 10 s while an outage lasts.
        if (Date.now() - this.#lastFailureLog > 10_000) {
          this.#lastFailureLog = Date.now();
          this.#opts.log.error({ err }, 'relay batch failed; will retry');
        }
        await this.#pause.for(Math.min(this.#opts.pollMs * 4, 5000));
        continue;
      }
      if (moved === 0) {
        if (!this.#listener && this.#running) await this.#listen();
        await this.#pause.for(this.#opts.pollMs);
      }
    }
  }

  /** Moves one batch; returns how many events it published. */
  async drain(): Promise<number> {
    const client = await this.#pool.connect();
    const s = `"${this.#opts.schema}"`;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT o.seq, o.id, o.tenant_id, o.type, o.version, o.aggregate_id, o.occurred_at, o.payload, o.traceparent
           FROM ${s}.outbox o
          WHERE o.published_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM ${s}.outbox e
                             WHERE e.aggregate_id = o.aggregate_id AND e.seq < o.seq AND e.published_at IS NULL)
          ORDER BY o.seq
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [this.#opts.batchSize],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const events: EventEnvelope[] = rows.map((r) => ({
        id: r.id,
        type: r.type,
        version: r.version,
        tenantId: r.tenant_id,
        aggregateId: r.aggregate_id,
        occurredAt: new Date(r.occurred_at).toISOString(),
        payload: r.payload,
      }));
      const byConsumer = new Map<string, { event: EventEnvelope; opts: JobsOptions }[]>();
      const spans: Span[] = [];
      for (const [i, e] of events.entries()) {
        const consumers = this.#opts.routes[e.type] ?? [];
        // jobId = event id: a re-delivery after a crash is ignored while the job is retained.
        const opts: JobsOptions = { jobId: e.id };
        const telemetry = consumers.length ? this.#telemetry(e, rows[i]!.traceparent, spans) : undefined;
        if (telemetry) opts.telemetry = telemetry;
        for (const consumer of consumers) {
          const list = byConsumer.get(consumer) ?? [];
          list.push({ event: e, opts });
          byConsumer.set(consumer, list);
        }
      }
      try {
        await this.#bounded(async () => {
          for (const [consumer, list] of byConsumer) {
            await this.#opts.queue(eventQueueName(consumer)).addBulk(list.map(({ event, opts }) => ({ name: event.type, data: event, opts })));
          }
        });
      } catch (err) {
        for (const span of spans) failSpan(span, err);
        throw err;
      } finally {
        for (const span of spans) span.end();
      }
      await this.#opts.afterEnqueue?.(events);
      await client.query(`UPDATE ${s}.outbox SET published_at = now() WHERE seq = ANY($1::bigint[])`, [rows.map((r) => r.seq)]);
      await client.query('COMMIT');
      this.#opts.onDelivered?.(events);
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * The trace context an event's jobs carry (see the header): its row's traceparent, or while
   * tracing is on, that of a new `publish <type>` span under it (added to `spans`, ended by drain).
   */
  #telemetry(e: EventEnvelope, traceparent: string | null, spans: Span[]): JobsOptions['telemetry'] {
    if (!isTraceparent(traceparent)) return undefined;
    if (!isTracing()) return jobTelemetry({ traceparent });
    const span = startSpan(
      `publish ${e.type}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'bullmq', 'messaging.operation.type': 'send', 'messaging.message.id': e.id, 'lectern.event.type': e.type, 'lectern.outbox': this.#opts.schema },
      },
      contextFrom({ traceparent }),
    );
    spans.push(span);
    return jobTelemetry(spanHeaders(span));
  }

  /** Runs `fn`, rejecting after enqueueTimeoutMs (the batch is then rolled back and retried). */
  #bounded(fn: () => Promise<void>): Promise<void> {
    const ms = this.#opts.enqueueTimeoutMs;
    return within(ms, fn, `Redis did not take the batch within ${ms} ms`);
  }

  /**
   * Marks the events published since `since` as unpublished again, in batches, and wakes the
   * relay to deliver them once more (after Redis lost its data). Returns how many.
   */
  async republishSince(since: Date, batchSize = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const { rows } = await this.#pool.query<{ n: number }>(`SELECT "${this.#opts.schema}".outbox_republish($1, $2) AS n`, [since, batchSize]);
      const n = Number(rows[0]?.n ?? 0);
      total += n;
      if (n < batchSize) break;
    }
    if (total) this.#opts.log.info({ events: total, since: since.toISOString() }, 'events published before Redis lost its data will be delivered again');
    this.#pause.wake();
    return total;
  }

  /** Ends the relay's pause now (Redis is back, or new work is known to be waiting). */
  wake(): void {
    this.#pause.wake();
  }

  /** Events recorded but not yet published (metrics, readiness). */
  async pending(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${this.#opts.schema}".outbox WHERE published_at IS NULL`);
    return Number(rows[0]?.n ?? 0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#pause.wake();
    await this.#loop;
    await this.#listener?.end().catch(() => {});
    await this.#pool.end();
  }
}
