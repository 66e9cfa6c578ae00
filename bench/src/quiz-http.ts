// The quiz bench's client: one JSON POST on a kept-alive connection of its own agent, with no
// cap on sockets, so that 1,000 learners really have 1,000 requests in flight (the kernel's
// postJson, which `post` uses, shares an agent of 256 sockets: a request waiting there for a
// socket would count client-side queueing as server latency). Timed from the call to the end
// of the body, as `post` does.
import http from 'node:http';
import type { Json } from './stack.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

export function gqlPost(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<{ body: Json; ms: number }> {
  const t = performance.now();
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        timeout: 60_000,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const ms = performance.now() - t;
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ body: JSON.parse(text) as Json, ms });
          } catch {
            resolve({ body: { errors: [{ message: `HTTP ${res.statusCode}: ${text.slice(0, 200)}`, extensions: { code: `HTTP_${res.statusCode}` } }] }, ms });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Closes the agent's idle sockets. */
export function closeClient(): void {
  agent.destroy();
}
