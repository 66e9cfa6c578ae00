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
    // Latches: the second request tells the test it is being handled, and is answered only once
    // close() has begun, so close() starts with a request in flight on the kept-alive connection.
    let handled = 0;
    let secondArrived: () => void = () => {};
    const arrived = new Promise<void>((r) => (secondArrived = r));
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    const host = createHttpHost({
      log: createLogger('http-test', 'silent'),
      metrics: createMetrics('http-test'),
      routes: [
        async (_req, res) => {
          if (++handled === 2) {
            secondArrived();
            await released;
          }
          res.end('ok');
          return true;
        },
      ],
    });
    const port = Number(new URL(await host.listen(0)).port);
    let sending = true;
    const answered: number[] = [];
    // A client sending back to back on one kept-alive connection, as a lease renewer does.
    const client = (async () => {
      while (sending) answered.push(await post(port));
    })();
    await arrived;
    const started = performance.now();
    const closed = host.close().then(() => 'closed');
    release();
    const outcome = await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000).unref())]);
    const took = performance.now() - started;
    sending = false;
    await client;
    // Well under the 5 s grace: the connection ended with the answers after close() began.
    expect(outcome).toBe('closed');
    expect(took).toBeLessThan(2000);
    expect(answered.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
  });
});
