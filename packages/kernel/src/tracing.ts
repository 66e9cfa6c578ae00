// OpenTelemetry tracing for every Lectern process: the gateway, each subgraph and each worker.
// Off by default. `startTracing(service)` turns it on when OTEL_TRACES_EXPORTER is `otlp` or an
// OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless
// OTEL_SDK_DISABLED=true; spans then go in batches (OTEL_BSP_*) to an OTLP/HTTP JSON exporter, which
// reads its own OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout, compression).
// runSubgraph and runWorker call it; the gateway calls it itself.
//
// What one operation looks like (one trace id throughout):
//   gateway  POST /graphql (SERVER, http.ts) > gateway.request > gateway.plan/execute > gateway.fetch
//            (@apollo/gateway's own spans) > POST (CLIENT, http-client.ts, sends `traceparent`)
//   subgraph POST /graphql (SERVER, child of that traceparent) > graphql.operation <name>
//            (http.ts + subgraph.ts's plugin) > dataloader.batch <loader> (loaders.ts) > db.query
//            (orm.ts, one per SQL statement, text without parameter values)
//   events   the outbox row keeps the traceparent of the transaction that recorded it (outbox.ts,
//            column outbox.traceparent) > publish <type> (PRODUCER, relay.ts), whose context rides in
//            the BullMQ job's `opts.telemetry.metadata` > consume <type> (CONSUMER, consumers.ts);
//            jobs added with consumers.ts enqueue() carry the context the same way (> job <name>).
// Logs: while tracing is on, every pino record written inside a span has its `traceId` and
// `spanId` (logger.ts), so a log line leads to its trace.
//
// Off, nothing here runs: each instrumentation point checks `isTracing()` (a module boolean)
// first, the SDK is not even loaded, and requests keep their random request and trace ids.
// Child spans (SQL, DataLoader, outgoing calls) are made only inside a recording span: a
// readiness probe or a relay poll starts no trace of its own.
//
// The tracer provider is registered through the CommonJS build of @opentelemetry/api: CommonJS
// libraries (@apollo/gateway) hold tracers made from it at load time, which follow only the
// provider registered through that build (the ESM build sees it too, through the shared global).
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { ConfigError, parseEnv, rawEnv, z } from './env.ts';
import type { Logger } from 'pino';

export { SpanKind, SpanStatusCode, type Span };

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
const count = z.coerce.number().int().positive().optional();

/** The OTEL_* variables Lectern reads itself (the exporter reads its own OTEL_EXPORTER_OTLP_*). */
export const tracingEnv = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False']).optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none'], { message: 'only "otlp" (OTLP over HTTP, JSON) and "none" are supported' }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/json', 'http/protobuf'], { message: 'Lectern exports OTLP over HTTP (JSON): use "http/json" and the collector\'s HTTP port (4318)' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/json', 'http/protobuf'], { message: 'Lectern exports OTLP over HTTP (JSON): use "http/json" and the collector\'s HTTP port (4318)' }).optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().nonnegative().optional(),
  OTEL_BSP_EXPORT_TIMEOUT: count,
  OTEL_BSP_MAX_QUEUE_SIZE: count,
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: count,
});
export type TracingEnv = z.infer<typeof tracingEnv>;

/** Whether `env` turns tracing on (see the header). */
export function tracingWanted(env: TracingEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER === 'otlp';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface Tracing {
  enabled: boolean;
  /** Exports every span ended so far. */
  flush(): Promise<void>;
  /** Flushes (within `timeoutMs`), stops the exporter and unregisters the provider: the last shutdown step. */
  shutdown(timeoutMs?: number): Promise<void>;
}

const OFF: Tracing = { enabled: false, flush: async () => {}, shutdown: async () => {} };

interface Provider {
  getTracer(name: string): Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

let on = false;
let lectern: Tracer | undefined;
let started: Promise<Tracing> | undefined;

/** Whether this process traces (startTracing turned it on). */
export const isTracing = (): boolean => on;

/**
 * Turns tracing on for this process when `env` asks for it (see the header); idempotent: once on,
 * a call returns the handle of the start that turned it on. Throws ConfigError on invalid OTEL_*
 * settings. `opts.exporter` replaces the OTLP exporter (tests: the SDK's InMemorySpanExporter) and
 * turns tracing on; `opts.log` receives the SDK's own warnings (an unreachable collector), at most
 * one a minute. `env` decides whether and how to trace; the OTLP exporter reads its own
 * OTEL_EXPORTER_OTLP_* variables from the process's environment.
 */
export function startTracing(service: string, env: Record<string, string | undefined> = rawEnv(), opts: { exporter?: SpanExporter; log?: Logger } = {}): Promise<Tracing> {
  // Only a start that turned tracing on is kept: staying off changes nothing to redo.
  started ??= start(service, env, opts).then(
    (t) => {
      if (!t.enabled) started = undefined;
      return t;
    },
    (err: unknown) => {
      started = undefined;
      throw err;
    },
  );
  return started;
}

async function start(service: string, raw: Record<string, string | undefined>, opts: { exporter?: SpanExporter; log?: Logger }): Promise<Tracing> {
  // An empty variable is an unset one (a compose file's `OTEL_EXPORTER_OTLP_ENDPOINT=`).
  const env = parseEnv(tracingEnv, Object.fromEntries(Object.entries(raw).filter(([k, v]) => k.startsWith('OTEL_') && v !== '')));
  if (!opts.exporter && !tracingWanted(env)) return OFF;
  const resourceAttributes = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  // The SDK is loaded only when tracing is on.
  const [{ BatchSpanProcessor, TracerProvider, AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler }, { W3CTraceContextPropagator }, { defaultResource, resourceFromAttributes }, { AsyncLocalStorageContextManager }] =
    await Promise.all([import('@opentelemetry/sdk-trace'), import('@opentelemetry/core'), import('@opentelemetry/resources'), import('@opentelemetry/context-async-hooks')]);
  const exporter = opts.exporter ?? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  const ratio = env.OTEL_TRACES_SAMPLER_ARG ?? 1;
  const sampler = {
    always_on: () => new AlwaysOnSampler(),
    always_off: () => new AlwaysOffSampler(),
    traceidratio: () => new TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    parentbased_always_off: () => new ParentBasedSampler({ root: new AlwaysOffSampler() }),
    parentbased_traceidratio: () => new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
  }[env.OTEL_TRACES_SAMPLER]();
  const provider: Provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...resourceAttributes,
        'service.name': env.OTEL_SERVICE_NAME ?? resourceAttributes['service.name'] ?? `lectern-${service}`,
        'service.instance.id': resourceAttributes['service.instance.id'] ?? randomUUID(),
      }),
    ),
    sampler,
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY,
        exportTimeoutMillis: env.OTEL_BSP_EXPORT_TIMEOUT,
        maxQueueSize: env.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
      }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const release = () => {
    disableGlobals();
    contextManager.disable();
  };
  if (!context.setGlobalContextManager(contextManager) || !propagation.setGlobalPropagator(new W3CTraceContextPropagator()) || !cjsApi().trace.setGlobalTracerProvider(provider)) {
    release();
    throw new Error('OpenTelemetry is already set up in this process by something else than startTracing');
  }
  if (opts.log) diag.setLogger(diagToLog(opts.log), DiagLogLevel.WARN);
  lectern = provider.getTracer('lectern');
  on = true;
  let stopped = false;
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    async shutdown(timeoutMs = 5000) {
      if (stopped) return;
      stopped = true;
      on = false;
      lectern = undefined;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([provider.shutdown().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      release();
      started = undefined;
    },
  };
}

function disableGlobals() {
  cjsApi().trace.disable();
  trace.disable();
  propagation.disable();
  context.disable();
  diag.disable();
}

/** The CommonJS build of @opentelemetry/api (see the header). */
let cjs: typeof import('@opentelemetry/api') | undefined;
const cjsApi = () => (cjs ??= createRequire(import.meta.url)('@opentelemetry/api') as typeof import('@opentelemetry/api'));

/** OTEL_RESOURCE_ATTRIBUTES: `key=value,...`, percent-encoded; anything else is refused at start. */
function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (text ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const parts = entry.split('=');
    const key = parts[0]?.trim();
    if (parts.length !== 2 || !key) throw new ConfigError(`Invalid configuration:\n  OTEL_RESOURCE_ATTRIBUTES: "${entry}" is not key=value (percent-encode "," and "=")`);
    try {
      out[decodeURIComponent(key)] = decodeURIComponent(parts[1]!.trim());
    } catch {
      throw new ConfigError(`Invalid configuration:\n  OTEL_RESOURCE_ATTRIBUTES: "${entry}" is not valid percent-encoding`);
    }
  }
  return out;
}

/** The SDK's warnings (an exporter that cannot reach its collector) as log lines, one a minute at most. */
function diagToLog(log: Logger) {
  let last = 0;
  const write = (level: 'warn' | 'error') => (message: string, ...args: unknown[]) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    log[level]({ otel: args.length ? args.map(String).join(' ').slice(0, 500) : undefined }, `tracing: ${message}`);
  };
  const none = () => {};
  return { error: write('error'), warn: write('warn'), info: none, debug: none, verbose: none };
}

// ---------------------------------------------------------------------------------------------
// Helpers for the kernel's instrumentation points; each is called only when isTracing().

const tracer = (): Tracer => {
  if (!lectern) throw new Error('tracing is off');
  return lectern;
};

/** The recording span of the current context, if any (child spans are made only under one). */
export function activeSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/** Starts a span (not made current): the HTTP host's server span, whose end it decides. */
export function startSpan(name: string, options: SpanOptions, parent: Context = context.active()): Span {
  return tracer().startSpan(name, options, parent);
}

/** Runs `fn` with `span` as the current span. */
export function withinSpan<T>(span: Span, fn: () => T, parent: Context = context.active()): T {
  return context.with(trace.setSpan(parent, span), fn);
}

/** Marks `span` failed with `err` (message and exception event). */
export function failSpan(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300) });
}

/**
 * Runs `fn` in a new current span `name` (child of `parent`, else of the current context) and
 * ends it when `fn` settles; a throw marks it failed and is rethrown.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>, parent?: Context): Promise<T> {
  const run = async (span: Span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
  return parent ? tracer().startActiveSpan(name, options, parent, run) : tracer().startActiveSpan(name, options, run);
}

/** Like inSpan, but only inside a recording span: otherwise `fn` runs as it is. */
export function inChildSpan<T>(name: string, options: SpanOptions, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  return activeSpan() ? inSpan(name, options, fn) : fn(undefined);
}

/** `00-<trace id>-<span id>-<flags>` of `span`. */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00'}`;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** Whether `value` is a W3C traceparent of version 00 (what the outbox and jobs carry). */
export const isTraceparent = (value: unknown): value is string => typeof value === 'string' && TRACEPARENT.test(value);

/** The current context's `traceparent` (and `tracestate`) headers; empty outside a span. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The `traceparent` (and `tracestate`) headers of `span`. */
export const spanHeaders = (span: Span): Record<string, string> => traceHeaders(trace.setSpan(ROOT_CONTEXT, span));

/** The context a `traceparent` (and `tracestate`) continues; the root context when there is none. */
export function contextFrom(headers: Record<string, unknown>): Context {
  if (!isTraceparent(headers.traceparent)) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent: headers.traceparent };
  if (typeof headers.tracestate === 'string') carrier.tracestate = headers.tracestate;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * BullMQ's place for a job's trace context (JobsOptions.telemetry.metadata, kept with the job in
 * Redis): the carrier JSON BullMQ's own OpenTelemetry integration writes, `{"traceparent":…}`.
 */
export function jobTelemetry(headers: Record<string, string>): { metadata: string } | undefined {
  return isTraceparent(headers.traceparent) ? { metadata: JSON.stringify(headers) } : undefined;
}

/** The context a job's telemetry metadata continues (root when it has none or it is not ours). */
export function contextOfJob(opts: { telemetry?: { metadata?: string } } | undefined): Context {
  const metadata = opts?.telemetry?.metadata;
  if (!metadata) return ROOT_CONTEXT;
  try {
    return contextFrom(JSON.parse(metadata) as Record<string, unknown>);
  } catch {
    return ROOT_CONTEXT;
  }
}

/** The longest SQL text a span carries (OpenTelemetry's db.query.text), in characters. */
const SQL_TEXT_LIMIT = 1024;
const clip = (sql: string) => (sql.length > SQL_TEXT_LIMIT ? `${sql.slice(0, SQL_TEXT_LIMIT)}…` : sql);

/**
 * SQL whose values were inlined (uow.statement's batches), with each literal replaced by `?`: a
 * span carries the statement's shape, never a value.
 */
export function sanitizeSql(sql: string): string {
  return sql.replace(/\b[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$|(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])/g, '?');
}

const dbAttributes = (sql: string, schema: string | undefined): Attributes => ({
  'db.system.name': 'postgresql',
  'db.query.text': clip(sql),
  'db.operation.name': /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL',
  ...(schema ? { 'db.namespace': schema } : {}),
});

/**
 * A `db.query` span for a statement that took `tookMs` and has just ended (MikroORM reports a
 * statement once it is done): child of the current span; nothing outside one.
 */
export function recordStatement(sql: string, tookMs: number, opts: { schema?: string; failed?: boolean; rows?: number }): void {
  if (!activeSpan()) return;
  const end = performance.timeOrigin + performance.now();
  const span = tracer().startSpan('db.query', { kind: SpanKind.CLIENT, startTime: end - tookMs, attributes: dbAttributes(sql, opts.schema) });
  if (opts.rows !== undefined) span.setAttribute('db.response.returned_rows', opts.rows);
  if (opts.failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end(end);
}

/** Runs a statement the kernel sends itself (queryBatch) in a `db.query` span. */
export function inStatementSpan<T>(sql: string, schema: string | undefined, fn: () => Promise<T>): Promise<T> {
  return inChildSpan('db.query', { kind: SpanKind.CLIENT, attributes: dbAttributes(sql, schema) }, fn);
}

/** Fields pino adds to each record: the current span's ids while tracing is on (logger.ts). */
export function logTraceFields(): { traceId: string; spanId: string } | undefined {
  if (!on) return undefined;
  const c = trace.getActiveSpan()?.spanContext();
  return c ? { traceId: c.traceId, spanId: c.spanId } : undefined;
}
