// Tracing (tracing.ts) in one process, without databases: off by default and then invisible; on,
// a request's server span continues the caller's trace, its logs and outgoing calls join it, and
// the OTLP exporter configured by the OTEL_* variables really sends, flushing on shutdown.
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { createHttpHost, type HttpHost, type RequestInfo, type Route } from '../src/http.ts';
import { postJson } from '../src/http-client.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { ConfigError } from '../src/env.ts';
import { contextOfJob, inSpan, isTracing, jobTelemetry, sanitizeSql, spanHeaders, startTracing, tracingEnv, tracingWanted, type Tracing } from '../src/tracing.ts';
import { trace } from '@opentelemetry/api';

// What @apollo/gateway does at load time: a tracer from the CommonJS build of the API, made
// before any provider is registered.
const early = (createRequire(import.meta.url)('@opentelemetry/api') as typeof import('@opentelemetry/api')).trace.getTracer('early');

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';
const incoming = `00-${TRACE}-${PARENT}-01`;

/** Log lines a logger wrote, parsed. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger('trace-test', 'info', { write: (s: string) => void lines.push(JSON.parse(s)) }) };
}

const hosts: HttpHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

async function host(routes: Route[], log = createLogger('trace-test', 'silent')): Promise<string> {
  const h = createHttpHost({ log, metrics: createMetrics('trace-test'), routes });
  hosts.push(h);
  return h.listen(0);
}

/** A route answering `path` with `{}` after `fn`. */
const route =
  (path: string, fn: (info: RequestInfo, req: http.IncomingMessage) => Promise<void> | void): Route =>
  async (req, res, url, info) => {
    if (url.pathname !== path) return false;
    for await (const _ of req);
    await fn(info, req);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    return true;
  };

describe('tracing off (the default)', () => {
  it('stays off unless the OTEL variables ask for an exporter', async () => {
    const wanted = (env: Record<string, string>) => tracingWanted(tracingEnv.parse(env));
    expect(wanted({})).toBe(false);
    expect(wanted({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(wanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(wanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(wanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(wanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    const off = await startTracing('test', { OTEL_EXPORTER_OTLP_ENDPOINT: '' });
    expect(off.enabled).toBe(false);
    expect(isTracing()).toBe(false);
  });

  it('refuses invalid settings at start, naming the variable', async () => {
    await expect(startTracing('test', { OTEL_TRACES_EXPORTER: 'jaeger' })).rejects.toThrow(ConfigError);
    await expect(startTracing('test', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER_ARG: '2' })).rejects.toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    await expect(startTracing('test', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).rejects.toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    await expect(startTracing('test', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_RESOURCE_ATTRIBUTES: 'team' })).rejects.toThrow(/OTEL_RESOURCE_ATTRIBUTES/);
    expect(isTracing()).toBe(false);
  });

  it('leaves requests as they were: the caller’s trace id, a fresh span id, both bound to the log', async () => {
    const { lines, log } = capture();
    let seen: RequestInfo | undefined;
    const url = await host([route('/x', (info) => void ((seen = info), info.log.info('handled')))], log);
    const res = await fetch(`${url}/x`, { method: 'POST', headers: { traceparent: incoming }, body: '{}' });
    expect(res.status).toBe(200);
    expect(seen!.traceId).toBe(TRACE);
    expect(seen!.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(seen!.traceparent).not.toContain(PARENT);
    const line = lines.find((l) => l.msg === 'handled')!;
    expect(line).toMatchObject({ traceId: TRACE, requestId: seen!.requestId });
    expect(line).not.toHaveProperty('spanId');
  });
});

describe('tracing on', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  beforeAll(async () => {
    tracing = await startTracing('test', {}, { exporter });
  });
  afterAll(async () => {
    await tracing?.shutdown();
  });
  const spans = async () => {
    await tracing.flush();
    return exporter.getFinishedSpans();
  };
  const named = (all: ReadableSpan[], name: string) => all.find((s) => s.name === name);

  it('is on, once per process', async () => {
    expect(tracing.enabled).toBe(true);
    expect(isTracing()).toBe(true);
    expect(await startTracing('again', {})).toBe(tracing);
  });

  it('runs a request in a server span of the caller’s trace; its logs and outgoing calls join it', async () => {
    exporter.reset();
    const { lines, log } = capture();
    let upstream: { info: RequestInfo; traceparent: unknown } | undefined;
    const b = await host([route('/b', (info, req) => void (upstream = { info, traceparent: req.headers.traceparent }))]);
    let seen: RequestInfo | undefined;
    const a = await host(
      [
        route('/a', async (info) => {
          seen = info;
          info.log.info('calling b');
          // The caller's own traceparent gives way to the client span's.
          await postJson(`${b}/b`, { traceparent: info.traceparent }, '{}', 2000);
        }),
      ],
      log,
    );
    const res = await fetch(`${a}/a`, { method: 'POST', headers: { traceparent: incoming, 'x-request-id': 'req-1' }, body: '{}' });
    expect(res.status).toBe(200);

    const all = await spans();
    const server = named(all, 'POST /a')!;
    expect(server.kind).toBe(1); // SERVER
    expect(server.spanContext().traceId).toBe(TRACE);
    expect(server.parentSpanContext?.spanId).toBe(PARENT);
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/a', 'http.response.status_code': 200, 'lectern.request_id': 'req-1' });
    expect(seen!.traceId).toBe(TRACE);
    expect(seen!.traceparent).toBe(`00-${TRACE}-${server.spanContext().spanId}-01`);

    const client = all.find((s) => s.kind === 2)!; // CLIENT
    expect(client.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(upstream!.traceparent).toBe(`00-${TRACE}-${client.spanContext().spanId}-01`);
    const downstream = named(all, 'POST /b')!;
    expect(downstream.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(upstream!.info.traceId).toBe(TRACE);

    const line = lines.find((l) => l.msg === 'calling b')!;
    expect(line).toMatchObject({ traceId: TRACE, spanId: server.spanContext().spanId, requestId: 'req-1' });
    // One traceId field: the log's bindings no longer carry it beside the mixin's.
    expect(JSON.stringify(line).match(/"traceId"/g)).toHaveLength(1);
  });

  it('starts a trace for a request without traceparent, and none for probes', async () => {
    exporter.reset();
    const url = await host([route('/x', () => {})]);
    await fetch(`${url}/healthz`);
    await fetch(`${url}/metrics`);
    await fetch(`${url}/x`, { method: 'POST', body: '{}' });
    const all = await spans();
    expect(all.map((s) => s.name)).toEqual(['POST /x']);
    expect(all[0]!.parentSpanContext).toBeUndefined();
  });

  it('records the spans of CommonJS libraries (the gateway’s) made before it started', async () => {
    exporter.reset();
    early.startActiveSpan('gateway.request', (span) => span.end());
    expect((await spans()).map((s) => s.name)).toEqual(['gateway.request']);
  });

  it('hands a span’s context on through a job’s telemetry metadata', async () => {
    await inSpan('producer', {}, async (span) => {
      const telemetry = jobTelemetry(spanHeaders(span))!;
      expect(JSON.parse(telemetry.metadata)).toEqual({ traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01` });
      const continued = trace.getSpanContext(contextOfJob({ telemetry }))!;
      expect(continued).toMatchObject({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId, isRemote: true });
    });
    expect(trace.getSpanContext(contextOfJob({ telemetry: { metadata: 'not json' } }))).toBeUndefined();
    expect(trace.getSpanContext(contextOfJob(undefined))).toBeUndefined();
  });
});

describe('sanitizeSql', () => {
  it('replaces every literal value by ?, keeping identifiers and placeholders', () => {
    expect(sanitizeSql(`select set_config('app.tenant_id', 'a''b', true); select * from t1 where id = 'x' and n > 42 and m = -1.5e3 and p = $1 and q = E'\\'s'`)).toBe(
      `select set_config(?, ?, true); select * from t1 where id = ? and n > ? and m = ? and p = $1 and q = ?`,
    );
    expect(sanitizeSql('select $$secret$$, $tag$more$tag$ from "x2"')).toBe('select ?, ? from "x2"');
  });
});

describe('the OTLP exporter', () => {
  const received: { path: string | undefined; type: string | undefined; body: string }[] = [];
  let collector: http.Server;
  const saved = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  beforeAll(async () => {
    collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ path: req.url, type: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = saved;
    collector.closeAllConnections();
    await new Promise((r) => collector.close(r));
  });

  it('sends the spans to the collector the OTEL variables name, flushing them on shutdown', async () => {
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
    // The exporter reads its endpoint from the process's environment, as in production.
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = endpoint;
    const tracing = await startTracing('otlp-test', {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint,
      // Nothing would be sent for a minute: only shutdown's flush can deliver the span in time.
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=platform%2Clearning',
    });
    expect(tracing.enabled).toBe(true);
    const url = await host([route('/exported', () => {})]);
    await fetch(`${url}/exported`, { method: 'POST', headers: { traceparent: incoming }, body: '{}' });
    expect(received).toHaveLength(0);
    await tracing.shutdown();
    expect(isTracing()).toBe(false);

    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ path: '/v1/traces', type: 'application/json' });
    const body = JSON.parse(received[0]!.body) as {
      resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { name: string; traceId: string }[] }[] }[];
    };
    const resource = Object.fromEntries(body.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(resource).toMatchObject({ 'service.name': 'lectern-otlp-test', 'deployment.environment.name': 'test', team: 'platform,learning' });
    const exported = body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(exported).toEqual([expect.objectContaining({ name: 'POST /exported', traceId: TRACE })]);
  });
});
