// The HTTP host's shutdown: a keep-alive client that keeps sending (a gateway renewing
// presence leases, a load balancer probing) must not hold close() open. Node's server.close()
// alone waits for such a connection as long as requests keep coming, or keepAliveTimeout after.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpHost } from '../src/http.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
afterEach(() => agent.destroy());

function post(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, agent, method: 'POST', path: '/slow' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end('x');
  });
}

describe('the HTTP host', () => {
  it('closes while a keep-alive client keeps sending, once the request in flight is answered', async () => {
    const host = createHttpHost({
      log: createLogger('http-test', 'silent'),
      metrics: createMetrics('http-test'),
      routes: [
        async (_req, res) => {
          await new Promise((r) => setTimeout(r, 50));
          res.end('ok');
          return true;
        },
      ],
    });
    const port = Number(new URL(await host.listen(0)).port);
    let sending = true;
    const answered: number[] = [];
    let inFlight: () => void = () => {};
    const secondSent = new Promise<void>((r) => (inFlight = r));
    const client = (async () => {
      while (sending) {
        const answer = post(port);
        if (answered.length === 1) inFlight();
        answered.push(await answer);
        // A client that pauses between requests, as a lease renewer does.
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // The second request on the kept-alive connection is being handled (50 ms) when close() starts.
    await secondSent;
    await new Promise((r) => setTimeout(r, 10));
    const started = performance.now();
    const outcome = await Promise.race([host.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000))]);
    const took = performance.now() - started;
    sending = false;
    await client;
    // Well under the 5 s grace: the request in flight was answered with Connection: close.
    expect(outcome).toBe('closed');
    expect(took).toBeLessThan(2000);
    expect(answered.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
  });
});
