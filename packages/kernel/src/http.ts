// A small node:http host for Apollo Server shared by the gateway and every subgraph:
// body limit, JSON errors in GraphQL shape, request ids and W3C trace ids, /healthz,
// /readyz, /metrics, and graceful shutdown. Apollo's own integration API does the rest.
// Tracing (tracing.ts), when on: each request but the probes (/healthz, /readyz, /metrics) runs
// in a SERVER span continuing the caller's `traceparent`, whose ids RequestInfo carries; a
// GraphQL endpoint with `operationSpan` runs its operation in a `graphql.operation` span under it.
// Off, requests get random trace ids (continuing a caller's trace id) and nothing else.
// /readyz runs every named readiness check at once (2 s each at most) and answers 200
// `{"status":"ready","checks":{"database":"ok","redis":"ok",…}}`, or 503 "not ready" with each
// failing check's short reason (e.g. `"redis":"down"` while Redis does not answer: redis.ts).
// `dependencies` are checked the same way but never make the process unready: the process still
// serves without them (the gateway, whose other subgraphs still answer: pulling it out of
// rotation for one down subgraph is how cascades start). One that fails makes the answer 200
// "degraded" with its reason, and each sets lectern_dependency_up (1 or 0).
import http from 'node:http';
import { randomFillSync, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import { within } from './deadline.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { contextFrom, failSpan, inSpan, isTracing, SpanKind, SpanStatusCode, startSpan, traceparentOf, withinSpan, type Span } from './tracing.ts';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface RequestInfo {
  requestId: string;
  traceId: string;
  traceparent: string;
  ip: string | null;
  log: Logger;
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** Headers of the answer (e.g. Retry-After) and extensions beside `code` in its GraphQL error. */
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;
  constructor(status: number, code: string, message: string, opts: { headers?: Record<string, string>; extensions?: Record<string, unknown> } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = opts.headers ?? {};
    this.extensions = opts.extensions ?? {};
  }
}

export type Route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, info: RequestInfo) => Promise<boolean> | boolean;

export interface GraphQLEndpoint<Ctx extends BaseContext> {
  path: string;
  apollo: ApolloServer<Ctx>;
  /** Builds the operation's context; throw HttpError to refuse the request before Apollo sees it. */
  context(req: http.IncomingMessage, info: RequestInfo): Promise<Ctx>;
  /**
   * Rewrites the parsed request body (POST) before Apollo reads it; throw HttpError to refuse it
   * (the gateway turns a trusted document's `documentId` into the persisted-query form Apollo knows).
   */
  body?(body: unknown, ctx: Ctx): unknown;
  /** Runs after execution, before the response is written (commits the unit of work). */
  finish?(ctx: Ctx, response: HTTPGraphQLResponse): Promise<void>;
  /** Runs when execution or finish throws (rolls the unit of work back). */
  abort?(ctx: Ctx): Promise<void>;
  /**
   * Tracing on: runs each operation (context, execution, finish) in a `graphql.operation` span
   * under the request's, which the schema's own plugin may rename and describe (subgraph.ts).
   */
  operationSpan?: boolean;
}

export interface HttpHostOptions<Ctx extends BaseContext> {
  log: Logger;
  metrics: Metrics;
  graphql?: GraphQLEndpoint<Ctx>;
  routes?: Route[];
  /** Named readiness checks; each resolves when healthy or throws with a short reason. */
  readiness?: Record<string, () => Promise<void>>;
  /** Checks like `readiness` whose failure reports the process degraded, still ready (see the header). */
  dependencies?: Record<string, () => Promise<void>>;
  bodyLimit?: number;
  trustProxy?: boolean;
  /** Runs first on every request: may set headers, and answers the request itself when it returns true (CORS preflight). */
  before?(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function graphqlErrorBody(message: string, code: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extensions } }] };
}

/** Reads the body's bytes, refusing more than `limit` bytes with 413 (without buffering the excess). */
export async function readBodyBytes(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads the body as UTF-8 text, refusing more than `limit` bytes with 413. */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return (await readBodyBytes(req, limit)).toString('utf8');
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// Trace and span ids come from a pool of random bytes refilled 4 KiB at a time (as
// randomUUID does): one system call per ~170 requests instead of two per request.
const pool = Buffer.alloc(4096);
let used = pool.length;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

function requestInfo(req: http.IncomingMessage, log: Logger, trustProxy: boolean): RequestInfo {
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  const tp = typeof req.headers.traceparent === 'string' ? TRACEPARENT.exec(req.headers.traceparent) : null;
  const traceId = tp?.[1] ?? randomHex(16);
  const spanId = randomHex(8);
  const forwarded = trustProxy && typeof req.headers['x-forwarded-for'] === 'string' ? req.headers['x-forwarded-for'].split(',')[0]?.trim() : undefined;
  return {
    requestId,
    traceId,
    traceparent: `00-${traceId}-${spanId}-01`,
    ip: forwarded || req.socket.remoteAddress || null,
    log: log.child({ requestId, traceId }),
  };
}

/** requestInfo's traced form: the ids are the request span's, and the log adds them itself (logger.ts). */
function tracedRequestInfo(req: http.IncomingMessage, log: Logger, trustProxy: boolean, span: Span): RequestInfo {
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  const forwarded = trustProxy && typeof req.headers['x-forwarded-for'] === 'string' ? req.headers['x-forwarded-for'].split(',')[0]?.trim() : undefined;
  span.setAttribute('lectern.request_id', requestId);
  return {
    requestId,
    traceId: span.spanContext().traceId,
    traceparent: traceparentOf(span),
    ip: forwarded || req.socket.remoteAddress || null,
    log: log.child({ requestId }),
  };
}

/** Paths answered without a span: probes and scrapes would otherwise fill the traces. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/** The request's SERVER span, child of the caller's `traceparent`; ended with the response. */
function serverSpan(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
  const method = (req.method ?? 'GET').toUpperCase();
  const parent = contextFrom(req.headers);
  const span = startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': url.pathname } }, parent);
  let failed = false;
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    // A failure the handler threw has its status already (fail, below).
    if (!failed && res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    else if (!failed && !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response was sent' });
    span.end();
  });
  return {
    span,
    parent,
    fail(err: unknown) {
      failed = true;
      failSpan(span, err);
    },
  };
}

export interface HttpHost {
  server: http.Server;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** How long a closing server lets requests in flight finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5000;

export function createHttpHost<Ctx extends BaseContext>(opts: HttpHostOptions<Ctx>): HttpHost {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  let closing = false;
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    // Shutting down: this answer ends its keep-alive connection (see close()).
    if (closing) res.setHeader('connection', 'close');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const traced = isTracing() && !UNTRACED.has(url.pathname) ? serverSpan(req, res, url) : undefined;
    const info = traced ? tracedRequestInfo(req, opts.log, opts.trustProxy ?? false, traced.span) : requestInfo(req, opts.log, opts.trustProxy ?? false);
    res.setHeader('x-request-id', info.requestId);
    let route = 'other';
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      opts.metrics.httpDuration.observe({ route, status: String(res.statusCode) }, seconds);
      // The span's name: method and route (the metrics' route label: a bounded set of names).
      if (traced) traced.span.updateName(route === 'other' ? (req.method ?? 'GET') : `${req.method ?? 'GET'} ${route === 'graphql' ? opts.graphql!.path : route}`);
    });
    const handle = async () => {
      try {
        if (opts.before?.(req, res, url)) return;
        if (url.pathname === '/healthz') {
          route = 'healthz';
          return sendJson(res, 200, { status: 'ok' });
        }
        if (url.pathname === '/readyz') {
          route = 'readyz';
          return await ready(res, opts.readiness ?? {}, opts.dependencies ?? {}, opts.metrics);
        }
        if (url.pathname === '/metrics') {
          route = 'metrics';
          const text = await opts.metrics.registry.metrics();
          res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
          return void res.end(text);
        }
        if (opts.graphql && url.pathname === opts.graphql.path) {
          route = 'graphql';
          return await handleGraphQL(opts.graphql, req, res, url, info, bodyLimit);
        }
        for (const r of opts.routes ?? []) {
          if (await r(req, res, url, info)) {
            route = url.pathname.split('/').slice(0, 3).join('/');
            return;
          }
        }
        sendJson(res, 404, { error: 'not found' });
      } catch (err) {
        if (err instanceof HttpError) {
          if (!res.headersSent) sendJson(res, err.status, graphqlErrorBody(err.message, err.code, err.extensions), err.headers);
          return;
        }
        info.log.error({ err }, 'request failed');
        traced?.fail(err);
        if (!res.headersSent) sendJson(res, 500, graphqlErrorBody('Internal server error', 'INTERNAL_SERVER_ERROR'));
        else res.destroy();
      }
    };
    if (traced) void withinSpan(traced.span, handle, traced.parent);
    else void handle();
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;

  return {
    server,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const addr = server.address() as AddressInfo;
          resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`);
        });
      });
    },
    // server.close() waits for every connection to end, and a keep-alive client that keeps
    // sending (a gateway renewing leases, a load balancer's probes) would hold it for as long as
    // it sends, or keepAliveTimeout (65 s) after. So: answers from now on close their connection,
    // connections are closed as soon as they are idle, and after CLOSE_GRACE_MS whatever is left
    // is cut.
    close() {
      closing = true;
      return new Promise((resolve) => {
        const idle = setInterval(() => server.closeIdleConnections(), 100);
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearInterval(idle);
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}

/** Runs a check (2 s at most): 'ok', or its failure's first line. */
async function outcome(check: () => Promise<void>): Promise<string> {
  try {
    await within(2000, check, 'timed out');
    return 'ok';
  } catch (err) {
    return (err as Error).message.split('\n')[0] || 'failed';
  }
}

async function ready(res: http.ServerResponse, checks: Record<string, () => Promise<void>>, dependencies: Record<string, () => Promise<void>>, metrics: Metrics) {
  const run = (list: Record<string, () => Promise<void>>) => Promise.all(Object.entries(list).map(async ([name, check]) => [name, await outcome(check)] as const));
  const [own, deps] = await Promise.all([run(checks), run(dependencies)]);
  for (const [name, result] of deps) metrics.dependencyUp.set({ dependency: name }, result === 'ok' ? 1 : 0);
  const ok = own.every(([, r]) => r === 'ok');
  const status = !ok ? 'not ready' : deps.every(([, r]) => r === 'ok') ? 'ready' : 'degraded';
  sendJson(res, ok ? 200 : 503, { status, checks: Object.fromEntries([...own, ...deps]) });
}

async function handleGraphQL<Ctx extends BaseContext>(
  endpoint: GraphQLEndpoint<Ctx>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  info: RequestInfo,
  bodyLimit: number,
) {
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'POST') {
    return sendJson(res, 405, graphqlErrorBody('GraphQL accepts GET and POST only', 'METHOD_NOT_ALLOWED'), { allow: 'GET, POST' });
  }
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  let body: unknown = undefined;
  if (method === 'POST') {
    const text = await readBody(req, bodyLimit);
    const type = headers.get('content-type') ?? '';
    if (/^application\/(graphql-response\+)?json\b/i.test(type) || type === '') {
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        throw new HttpError(400, 'BAD_REQUEST', 'Request body is not valid JSON');
      }
    } else {
      body = text;
    }
  }
  const run = async () => {
    const ctx = await endpoint.context(req, info);
    if (endpoint.body && method === 'POST') body = endpoint.body(body, ctx);
    try {
      const response = await endpoint.apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method, headers, search: url.search, body },
        context: async () => ctx,
      });
      await endpoint.finish?.(ctx, response);
      return response;
    } catch (err) {
      await endpoint.abort?.(ctx);
      throw err;
    }
  };
  const response: HTTPGraphQLResponse = endpoint.operationSpan && isTracing() ? await inSpan('graphql.operation', {}, run) : await run();
  const out: Record<string, string> = {};
  for (const [k, v] of response.headers) out[k] = v;
  res.writeHead(response.status ?? 200, out);
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
  } else {
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

/** Closes `steps` in order on SIGTERM/SIGINT, then exits; a second signal exits at once. */
export function installShutdown(log: Logger, steps: (() => Promise<unknown>)[], graceMs: number) {
  let closing = false;
  const onSignal = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    void (async () => {
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          log.error({ err }, 'error during shutdown');
        }
      }
      log.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}
