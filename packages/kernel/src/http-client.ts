// One JSON POST on a kept-alive node:http(s) connection: the gateway's calls to subgraphs and
// the benchmarks' load generator. On a busy host it costs a fraction of fetch's CPU per call
// (no WHATWG Request, Headers and streams around each one).
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

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

export function postJson(url: URL | string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResponse> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const client = target.protocol === 'https:' ? https : http;
  const agent = agents[target.protocol as keyof typeof agents];
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${target.origin} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
