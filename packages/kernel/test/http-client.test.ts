// postJson, the gateway's calls to subgraphs: a peer that never answers, or answers a byte at a
// time forever, fails the call at its deadline (not a minute later, not never); a request on a
// kept-alive socket the peer dropped is sent again on a new one, once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson } from '../src/http-client.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe('postJson', () => {
  it('fails a call the peer never answers at its deadline', async () => {
    const url = await serve(() => {}); // takes the request, says nothing (a SIGSTOPped process)
    const started = Date.now();
    await expect(postJson(url, {}, '{}', 300)).rejects.toThrow(/did not answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails at the deadline a peer that keeps the socket busy without finishing', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const drip = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(drip));
    });
    await expect(postJson(url, {}, '{}', 400)).rejects.toThrow(/did not answer within 400 ms/);
  });

  it('sends a request again, once, when the kept-alive socket it went out on was dropped by the peer', async () => {
    const seen = new WeakMap<object, number>();
    let served = 0;
    const url = await serve((req, res) => {
      const n = (seen.get(req.socket) ?? 0) + 1;
      seen.set(req.socket, n);
      // The second request on a socket: the peer drops the socket without answering (as a process
      // that was stopped and resumed, or restarted, does with its old connections).
      if (n === 2) return req.socket.destroy();
      served++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":{}}');
    });
    expect((await postJson(url, {}, '{}', 2000)).status).toBe(200);
    expect((await postJson(url, {}, '{}', 2000)).status).toBe(200); // reused socket dropped, sent again on a new one
    expect(served).toBe(2);
  });
});
