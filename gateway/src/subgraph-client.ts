// How the gateway reaches a subgraph: one JSON POST on a kept-alive node:http connection.
// Apollo's RemoteGraphQLDataSource builds node-fetch Headers and a Request around a WHATWG
// fetch for each subgraph call; that machinery was a fifth of the gateway's CPU per
// heartbeat in `pnpm bench progress`, so ActorDataSource sends with this instead.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

export interface SubgraphResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export function postJson(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SubgraphResponse> {
  const client = url.protocol === 'https:' ? https : http;
  const agent = agents[url.protocol as keyof typeof agents];
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
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
    req.on('timeout', () => req.destroy(new Error(`${url.origin} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The few parts of a fetch Response that Apollo's gateway reads after a subgraph call. */
export function responseView(r: SubgraphResponse) {
  return {
    ok: r.status >= 200 && r.status < 300,
    status: r.status,
    statusText: r.statusText,
    headers: { get: (name: string) => headerValue(r.headers, name) },
  };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}
