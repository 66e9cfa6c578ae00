import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Bulkhead,
  BulkheadFullError,
  CircuitBreaker,
  CircuitOpenError,
  SubgraphGuard,
  isRetryableTransport,
  isSubgraphFailure,
  withRetries,
  type CircuitState,
} from './resilience.ts';
import { postJson } from './subgraph-client.ts';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise continuation run (setImmediate comes after the microtask queue). */
const drain = () => new Promise<void>((r) => setImmediate(r));

const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');
const errno = (code: string, message = code) => Object.assign(new Error(message), { code });

/** A breaker on a hand-driven clock. */
function breakerAt(opts: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}) {
  const clock = { t: 1_000_000 };
  const changes: CircuitState[] = [];
  const breaker = new CircuitBreaker({ name: 'catalog', now: () => clock.t, onStateChange: (s) => changes.push(s), ...opts });
  return { breaker, clock, changes };
}

async function outcomes(breaker: CircuitBreaker, failures: number, successes: number) {
  for (let i = 0; i < successes; i++) await breaker.run(ok);
  for (let i = 0; i < failures; i++) await breaker.run(boom).catch(() => undefined);
}

describe('CircuitBreaker', () => {
  it('does not open below minimumRequests, however many of them fail', async () => {
    const { breaker } = breakerAt({ minimumRequests: 10 });
    await outcomes(breaker, 9, 0);
    expect(breaker.state).toBe('CLOSED');
    await outcomes(breaker, 1, 0);
    expect(breaker.state).toBe('OPEN');
  });

  it('opens when the failure share reaches failureRate, not before', async () => {
    const { breaker, changes } = breakerAt({ minimumRequests: 10, failureRate: 0.5 });
    await outcomes(breaker, 4, 6); // 4/10
    await outcomes(breaker, 1, 0); // 5/11
    expect(breaker.state).toBe('CLOSED');
    await outcomes(breaker, 1, 0); // 6/12
    expect(breaker.state).toBe('OPEN');
    expect(changes).toEqual(['OPEN']);
  });

  it('while open, refuses at once without calling fn, saying when to retry', async () => {
    const { breaker, clock } = breakerAt({ minimumRequests: 2, openMs: 5000 });
    await outcomes(breaker, 2, 0);
    clock.t += 1200;
    const fn = vi.fn(ok);
    const err = await breaker.run(fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 3800 });
    expect(fn).not.toHaveBeenCalled();
  });

  it('half-open lets exactly halfOpenProbes calls through at once; a success closes and resets the window', async () => {
    const { breaker, clock, changes } = breakerAt({ minimumRequests: 4, openMs: 5000, halfOpenProbes: 2 });
    await outcomes(breaker, 4, 0);
    clock.t += 5000;
    expect(breaker.state).toBe('HALF_OPEN');
    const probes = [deferred<string>(), deferred<string>()];
    const started: number[] = [];
    const p0 = breaker.run(() => (started.push(0), probes[0]!.promise));
    const p1 = breaker.run(() => (started.push(1), probes[1]!.promise));
    const third = vi.fn(ok);
    await expect(breaker.run(third)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(third).not.toHaveBeenCalled();
    expect(started).toEqual([0, 1]);

    probes[0]!.resolve('fine');
    await expect(p0).resolves.toBe('fine');
    expect(breaker.state).toBe('CLOSED');
    // The other probe's late failure belongs to the half-open period: it does not count.
    probes[1]!.reject(new Error('late'));
    await expect(p1).rejects.toThrow('late');
    expect(changes).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED']);
    // The window was reset: three failures after closing are below minimumRequests (4).
    await outcomes(breaker, 3, 0);
    expect(breaker.state).toBe('CLOSED');
  });

  it('a failed probe opens it again for openMs', async () => {
    const { breaker, clock, changes } = breakerAt({ minimumRequests: 2, openMs: 1000 });
    await outcomes(breaker, 2, 0);
    clock.t += 1000;
    await expect(breaker.run(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('OPEN');
    clock.t += 999;
    await expect(breaker.run(ok)).rejects.toMatchObject({ retryAfterMs: 1 });
    clock.t += 1;
    await expect(breaker.run(ok)).resolves.toBe('ok');
    expect(changes).toEqual(['OPEN', 'HALF_OPEN', 'OPEN', 'HALF_OPEN', 'CLOSED']);
  });

  it('forgets outcomes older than the window', async () => {
    const { breaker, clock } = breakerAt({ windowMs: 10_000, minimumRequests: 10 });
    await outcomes(breaker, 9, 0);
    clock.t += 10_000; // every bucket of those nine has expired
    await outcomes(breaker, 9, 0);
    expect(breaker.state).toBe('CLOSED');
    clock.t += 5_000; // half of the window later, the last nine still count
    await outcomes(breaker, 1, 0);
    expect(breaker.state).toBe('OPEN');
  });

  it('counts only what isFailure / isFailedResult call failures; local refusals count for nothing', async () => {
    const { breaker } = breakerAt({ minimumRequests: 2 });
    const notMine = () => Promise.reject(Object.assign(new Error('400'), { status: 400 }));
    for (let i = 0; i < 5; i++) await breaker.run(notMine, isSubgraphFailure).catch(() => undefined);
    for (let i = 0; i < 5; i++) await breaker.run(() => Promise.reject(new BulkheadFullError('catalog', 'queue full', 1000))).catch(() => undefined);
    expect(breaker.state).toBe('CLOSED');
    // The refusals were not counted; the 400s were, as successes (the subgraph answered): 5 of 7.
    await outcomes(breaker, 2, 0);
    expect(breaker.state).toBe('CLOSED');

    const other = breakerAt({ minimumRequests: 2 }).breaker;
    const res = await other.run(() => Promise.resolve({ status: 503 }), undefined, (r) => r.status >= 500);
    expect(res).toEqual({ status: 503 });
    await other.run(() => Promise.resolve({ status: 502 }), undefined, (r) => r.status >= 500);
    expect(other.state).toBe('OPEN');
  });
});

describe('Bulkhead', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never runs more than maxConcurrent of 100 concurrent calls', async () => {
    const bulkhead = new Bulkhead({ name: 'media', maxConcurrent: 4, maxQueue: 100, queueTimeoutMs: 60_000 });
    let running = 0;
    let peak = 0;
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    const calls = Array.from({ length: 100 }, (_, i) =>
      bulkhead.run(async () => {
        running++;
        peak = Math.max(peak, running);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        running--;
        return i;
      }),
    );
    await drain();
    expect(bulkhead.active).toBe(4);
    expect(bulkhead.queued).toBe(96);
    // Release the running calls in bursts; each freed slot goes to the next waiter.
    while (gates.length) {
      for (const gate of gates.splice(0)) gate.resolve();
      await drain();
      expect(running).toBeLessThanOrEqual(4);
    }
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(peak).toBe(4);
    expect(bulkhead.active).toBe(0);
    expect(bulkhead.queued).toBe(0);
  });

  it('refuses at once when the queue is full, without calling fn', async () => {
    const bulkhead = new Bulkhead({ name: 'media', maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 60_000 });
    const gate = deferred();
    const first = bulkhead.run(() => gate.promise);
    const second = bulkhead.run(ok);
    const third = vi.fn(ok);
    await expect(bulkhead.run(third)).rejects.toMatchObject({ code: 'BULKHEAD_FULL', retryAfterMs: expect.any(Number) });
    expect(third).not.toHaveBeenCalled();
    expect(bulkhead.queued).toBe(1);
    gate.resolve();
    await first;
    await expect(second).resolves.toBe('ok');
  });

  it('a waiter whose time runs out is refused and leaves the queue, leaving no timer behind', async () => {
    vi.useFakeTimers();
    const bulkhead = new Bulkhead({ name: 'media', maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 50 });
    const gate = deferred();
    const first = bulkhead.run(() => gate.promise);
    const waiting = vi.fn(ok);
    const second = bulkhead.run(waiting);
    const settled = expect(second).rejects.toBeInstanceOf(BulkheadFullError);
    expect(bulkhead.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    await settled;
    expect(bulkhead.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    gate.resolve();
    await first;
    expect(waiting).not.toHaveBeenCalled();
    expect(bulkhead.active).toBe(0);
  });

  it('a waiter handed a slot has its timer cleared', async () => {
    vi.useFakeTimers();
    const bulkhead = new Bulkhead({ name: 'media', maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 50 });
    const gate = deferred();
    const first = bulkhead.run(() => gate.promise);
    const second = bulkhead.run(ok);
    expect(vi.getTimerCount()).toBe(1);
    gate.resolve();
    await first;
    await expect(second).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a shorter maxWaitMs (what is left of a deadline) bounds the wait; none left refuses at once', async () => {
    const bulkhead = new Bulkhead({ name: 'media', maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 60_000 });
    const gate = deferred();
    const first = bulkhead.run(() => gate.promise);
    await expect(bulkhead.run(ok, 0)).rejects.toBeInstanceOf(BulkheadFullError);
    await expect(bulkhead.run(ok, 20)).rejects.toBeInstanceOf(BulkheadFullError);
    expect(bulkhead.queued).toBe(0);
    gate.resolve();
    await first;
  });

  it('serves waiters first come, first served', async () => {
    const bulkhead = new Bulkhead({ name: 'media', maxConcurrent: 1, maxQueue: 10, queueTimeoutMs: 60_000 });
    const gate = deferred();
    const order: string[] = [];
    const first = bulkhead.run(() => gate.promise);
    const rest = ['a', 'b', 'c', 'd'].map((name) => bulkhead.run(async () => void order.push(name)));
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('withRetries', () => {
  const retryableErr = () => errno('ECONNRESET', 'socket hang up');

  it('retries a retryable failure at most `retries` times and rejects with the last error', async () => {
    let n = 0;
    const fn = vi.fn(async (_attempt: number) => {
      throw errno('ECONNRESET', `reset ${n++}`);
    });
    const sleeps: number[] = [];
    const err = await withRetries(fn, { retries: 3, retryable: isRetryableTransport, sleep: async (ms) => void sleeps.push(ms) }).catch((e: unknown) => e);
    expect(fn).toHaveBeenCalledTimes(4);
    expect(fn.mock.calls.map((c) => c[0])).toEqual([0, 1, 2, 3]);
    expect((err as Error).message).toBe('reset 3');
    expect(sleeps).toHaveLength(3);
  });

  it('does not retry what retryable refuses', async () => {
    const fn = vi.fn(boom);
    const sleep = vi.fn(async () => undefined);
    await expect(withRetries(fn, { retries: 5, retryable: isRetryableTransport, sleep })).rejects.toThrow('boom');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('returns the first success', async () => {
    const fn = vi.fn(async (attempt: number) => {
      if (attempt < 2) throw retryableErr();
      return attempt;
    });
    await expect(withRetries(fn, { retryable: () => true, sleep: async () => undefined })).resolves.toBe(2);
  });

  it('waits random() * min(maxMs, baseMs * 2^attempt): full jitter, bounded by maxMs', async () => {
    const sleeps: number[] = [];
    const randoms = [0.5, 0.25, 1, 1, 0];
    await withRetries(
      async () => {
        throw retryableErr();
      },
      { retries: 5, baseMs: 100, maxMs: 300, retryable: () => true, random: () => randoms.shift()!, sleep: async (ms) => void sleeps.push(ms) },
    ).catch(() => undefined);
    expect(sleeps).toEqual([50, 50, 300, 300, 0]);
  });

  it('never sleeps past the deadline: it gives up with the last error instead', async () => {
    const clock = { t: 0 };
    const fn = vi.fn(async () => {
      clock.t += 10; // each attempt takes 10 ms
      throw retryableErr();
    });
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock.t += ms;
    };
    // Attempt 0 ends at 10, sleeps 50 -> 60; attempt 1 ends at 70, a 100 ms sleep would end at 170 >= 120.
    await expect(
      withRetries(fn, { retries: 5, baseMs: 50, maxMs: 1000, random: () => 1, retryable: () => true, sleep, now: () => clock.t, deadline: 120 }),
    ).rejects.toThrow('socket hang up');
    expect(fn).toHaveBeenCalledTimes(2);
    expect(sleeps).toEqual([50]);
    expect(clock.t).toBeLessThan(120);
  });
});

describe('isRetryableTransport', () => {
  it('accepts socket failures by code and postJson timeouts; refuses local refusals and other errors', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) expect(isRetryableTransport(errno(code))).toBe(true);
    expect(isRetryableTransport(new Error('socket hang up'))).toBe(true);
    expect(isRetryableTransport(new Error('http://127.0.0.1:4001 did not answer within 8000 ms'))).toBe(true);
    expect(isRetryableTransport(new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')]))).toBe(true);
    expect(isRetryableTransport(errno('ERR_INVALID_URL'))).toBe(false);
    expect(isRetryableTransport(new CircuitOpenError('catalog', 100))).toBe(false);
    expect(isRetryableTransport(new BulkheadFullError('catalog', 'queue full', 100))).toBe(false);
    expect(isRetryableTransport(new Error('Expected JSON response body'))).toBe(false);
    expect(isRetryableTransport(undefined)).toBe(false);
  });

  describe('on what postJson really rejects with', () => {
    const servers: Array<http.Server | net.Server> = [];
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    });
    async function listen<S extends http.Server | net.Server>(server: S): Promise<string> {
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    }

    it('a refused connection', async () => {
      const probe = net.createServer();
      const url = await listen(probe);
      await new Promise((r) => probe.close(r));
      servers.splice(servers.indexOf(probe), 1);
      const err = await postJson(url, {}, '{}', 5000).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('ECONNREFUSED');
      expect(isRetryableTransport(err)).toBe(true);
    });

    it('a peer that hangs up without answering', async () => {
      const url = await listen(net.createServer((s) => s.once('data', () => s.destroy())));
      const err = await postJson(url, {}, '{}', 5000).catch((e: unknown) => e);
      expect(isRetryableTransport(err)).toBe(true);
    });

    it('a peer that does not answer in time', async () => {
      const url = await listen(http.createServer(() => undefined));
      const err = await postJson(url, {}, '{}', 20).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(isRetryableTransport(err)).toBe(true);
    });
  });
});

describe('SubgraphGuard', () => {
  const guard = (opts: Partial<ConstructorParameters<typeof SubgraphGuard>[1]> = {}) =>
    new SubgraphGuard('enrollment', {
      bulkhead: { maxConcurrent: 2, maxQueue: 2, queueTimeoutMs: 60_000 },
      retries: 2,
      backoff: { sleep: async () => undefined },
      ...opts,
    });
  const soon = () => Date.now() + 60_000;

  it('a query that meets one ECONNRESET is sent again and succeeds; both outcomes reach the breaker', async () => {
    const g = guard({ breaker: { minimumRequests: 2, failureRate: 1 } });
    const send = vi.fn(async (attempt: number) => {
      if (attempt === 0) throw errno('ECONNRESET', 'read ECONNRESET');
      return { data: { ok: true } };
    });
    await expect(g.call(send, { idempotent: true, deadline: soon() })).resolves.toEqual({ data: { ok: true } });
    expect(send).toHaveBeenCalledTimes(2);
    // failure + success recorded: one more failure makes 2 of 3, below failureRate 1.
    await expect(g.call(async () => Promise.reject(errno('ECONNREFUSED')), { idempotent: false, deadline: soon() })).rejects.toThrow();
    expect(g.state).toBe('CLOSED');
  });

  it('a mutation is never sent twice', async () => {
    const g = guard();
    const send = vi.fn(async () => {
      throw errno('ECONNRESET', 'socket hang up');
    });
    await expect(g.call(send, { idempotent: false, deadline: soon() })).rejects.toThrow('socket hang up');
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('an open circuit refuses at once, is not retried, and reports its state changes', async () => {
    const changes: string[] = [];
    const g = guard({ retries: 5, breaker: { minimumRequests: 3 }, onStateChange: (s, name) => changes.push(`${name}:${s}`) });
    const send = vi.fn(async () => {
      throw errno('ECONNREFUSED');
    });
    await expect(g.call(send, { idempotent: true, deadline: soon() })).rejects.toBeInstanceOf(CircuitOpenError);
    // Three refused attempts opened it; the fourth was refused by the circuit, and ended the retries.
    expect(send).toHaveBeenCalledTimes(3);
    expect(g.state).toBe('OPEN');
    expect(changes).toEqual(['enrollment:OPEN']);
  });

  it('a full bulkhead refuses without counting against the circuit, and is not retried', async () => {
    const g = guard({ bulkhead: { maxConcurrent: 1, maxQueue: 0, queueTimeoutMs: 1000 }, breaker: { minimumRequests: 1 } });
    const gate = deferred();
    const busy = g.call(() => gate.promise, { idempotent: true, deadline: soon() });
    const send = vi.fn(ok);
    for (let i = 0; i < 3; i++) await expect(g.call(send, { idempotent: true, deadline: soon() })).rejects.toBeInstanceOf(BulkheadFullError);
    expect(send).not.toHaveBeenCalled();
    expect(g.state).toBe('CLOSED');
    gate.resolve();
    await busy;
  });

  it('a 5xx answer counts as a failure yet is returned to the caller, not retried', async () => {
    const g = guard({ breaker: { minimumRequests: 1 } });
    const send = vi.fn(async () => ({ status: 503 }));
    await expect(g.call(send, { idempotent: true, deadline: soon(), isFailedResult: (r) => r.status >= 500 })).resolves.toEqual({ status: 503 });
    expect(send).toHaveBeenCalledTimes(1);
    expect(g.state).toBe('OPEN');
  });

  it('with real postJson: a query the peer hangs up on once is answered by the retry', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      const n = connections++;
      socket.once('data', () => {
        if (n === 0) socket.destroy();
        else socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{"data":{}}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
      const g = guard();
      const res = await g.call(() => postJson(url, {}, '{"query":"{ __typename }"}', 5000), { idempotent: true, deadline: soon() });
      expect(res.status).toBe(200);
      expect(res.body).toBe('{"data":{}}');
      expect(connections).toBe(2);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
