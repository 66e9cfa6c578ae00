// One JSON POST on a kept-alive node:http(s) connection: the gateway's calls to subgraphs and
// the benchmarks' load generator. On a busy host it costs a fraction of fetch's CPU per call
// (no WHATWG Request, Headers and streams around each one).
// Tracing on (tracing.ts), a call made inside a span gets a CLIENT span, whose `traceparent` it
// sends (in place of one the caller passed): the callee's spans join the caller's trace.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { activeSpan, inSpan, isTracing, SpanKind, SpanStatusCode, traceHeaders } from './tracing.ts';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

export interface PostResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * POSTs `body`; rejects once `timeoutMs` have passed since the call, whatever the socket does (a
 * stopped peer sends nothing; a slow one may trickle). A request that fails on a kept-alive socket
 * the peer had already closed (ECONNRESET before any answer: e.g. the peer was restarted or
 * stopped and resumed) never reached it, and is sent again once on a new socket.
 */
export function postJson(url: URL | string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResponse> {
  const target = typeof url === 'string' ? new URL(url) : url;
  if (isTracing() && activeSpan()) return tracedPost(target, headers, body, timeoutMs);
  return post(target, headers, body, timeoutMs);
}

/** postJson in a CLIENT span, sending the span's trace context. */
function tracedPost(target: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResponse> {
  const attributes = { 'http.request.method': 'POST', 'server.address': target.hostname, 'server.port': Number(target.port) || (target.protocol === 'https:' ? 443 : 80), 'url.full': `${target.origin}${target.pathname}` };
  return inSpan('POST', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const res = await post(target, { ...headers, ...traceHeaders() }, body, timeoutMs);
    span.setAttribute('http.response.status_code', res.status);
    if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return res;
  });
}

function post(target: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResponse> {
  const deadline = Date.now() + timeoutMs;
  return send(target, headers, body, deadline, timeoutMs).catch((err: unknown) => {
    if ((err as { staleSocket?: boolean }).staleSocket && Date.now() < deadline) return send(target, headers, body, deadline, timeoutMs);
    throw err;
  });
}

function send(target: URL, headers: Record<string, string>, body: string, deadline: number, timeoutMs: number): Promise<PostResponse> {
  const client = target.protocol === 'https:' ? https : http;
  const agent = agents[target.protocol as keyof typeof agents];
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = client.request(
      target,
      { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`${target.origin} did not answer within ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!answered && req.reusedSocket && err.code === 'ECONNRESET') Object.assign(err, { staleSocket: true });
      reject(err);
    });
    req.end(body);
  });
}
