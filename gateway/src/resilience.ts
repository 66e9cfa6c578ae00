// How the gateway keeps one sick subgraph from taking the rest of the graph down with it (issue 16).
// Three pieces, each usable alone, composed per subgraph by SubgraphGuard:
//
// - CircuitBreaker: remembers the outcomes of the last `windowMs` (10 buckets, O(1) per call, no
//   timers). When enough calls fail (at least `minimumRequests`, a share >= `failureRate`) it
//   OPENS: calls are refused at once with CircuitOpenError instead of each waiting out a timeout.
//   After `openMs` it is HALF_OPEN: a few probe calls go through; one that succeeds CLOSES it (the
//   window starts afresh), one that fails OPENS it again.
// - Bulkhead: at most `maxConcurrent` calls in flight to one subgraph, so a slow one cannot hold
//   every socket and request; the next ones wait in a bounded FIFO queue for a bounded time, and
//   beyond that fail fast with BulkheadFullError.
// - withRetries: runs again, after exponential backoff with full jitter, what failed in a way
//   that is safe to repeat (isRetryableTransport: the peer was not reached, hung up or timed out)
//   and only while the request's deadline allows. SubgraphGuard retries only idempotent calls
//   (queries): a mutation is never sent twice.
//
// SubgraphGuard.call: breaker (refuses at once when open) -> bulkhead (waits for a slot) -> send;
// each attempt, retries included, goes through both again and its outcome is recorded in the
// breaker. Local refusals (circuit open, bulkhead full) are not outcomes of the subgraph: the
// breaker does not count them and they are never retried. The caller maps CircuitOpenError and
// BulkheadFullError (both carry `code` and `retryAfterMs`) to SERVICE_UNAVAILABLE for the fields
// that subgraph owns; the rest of the answer still comes.
import { setTimeout as sleepFor } from 'node:timers/promises';

export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** The circuit of `name` is open: the call was refused without being sent. */
export class CircuitOpenError extends Error {
  readonly code = 'CIRCUIT_OPEN';
  readonly subgraph: string;
  readonly retryAfterMs: number;
  constructor(name: string, retryAfterMs: number) {
    super(`${name} is failing; calls to it are paused for ${Math.ceil(retryAfterMs)} ms`);
    this.name = 'CircuitOpenError';
    this.subgraph = name;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Every slot of `name`'s bulkhead is busy and its queue is full, or the wait for a slot expired. */
export class BulkheadFullError extends Error {
  readonly code = 'BULKHEAD_FULL';
  readonly subgraph: string;
  readonly retryAfterMs: number;
  constructor(name: string, reason: 'queue full' | 'wait expired', retryAfterMs: number) {
    super(`${name} is at its concurrency limit (${reason})`);
    this.name = 'BulkheadFullError';
    this.subgraph = name;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Refusals decided here, before the subgraph was called: neither a failure nor a success of it. */
function isLocalRefusal(err: unknown): boolean {
  return err instanceof CircuitOpenError || err instanceof BulkheadFullError;
}

// ---------------------------------------------------------------------------------------------
// Circuit breaker

export interface CircuitBreakerOptions {
  name: string;
  /** How far back outcomes count. */
  windowMs?: number;
  /** Fewer calls than this in the window never open the circuit. */
  minimumRequests?: number;
  /** Share of failed calls in the window (0..1) that opens it. */
  failureRate?: number;
  /** How long it stays open before letting probes through. */
  openMs?: number;
  /** Calls let through at once while half-open. */
  halfOpenProbes?: number;
  /** A monotonic clock in ms (default performance.now); tests pass their own. */
  now?: () => number;
  /** Called on every transition, synchronously; must not throw. */
  onStateChange?: (state: CircuitState, name: string) => void;
}

const BUCKETS = 10;

export class CircuitBreaker {
  readonly name: string;
  readonly #windowMs: number;
  readonly #minimumRequests: number;
  readonly #failureRate: number;
  readonly #openMs: number;
  readonly #halfOpenProbes: number;
  readonly #now: () => number;
  readonly #onStateChange: ((state: CircuitState, name: string) => void) | undefined;
  readonly #bucketMs: number;
  // Ring of buckets; #epoch[i] is the absolute bucket number whose counts slot i holds.
  readonly #epoch = new Array<number>(BUCKETS).fill(-Infinity);
  readonly #calls = new Array<number>(BUCKETS).fill(0);
  readonly #failures = new Array<number>(BUCKETS).fill(0);
  #state: CircuitState = 'CLOSED';
  /** Bumped on every transition: an outcome admitted under an older state is not counted. */
  #generation = 0;
  #openUntil = 0;
  #probes = 0;

  constructor(opts: CircuitBreakerOptions) {
    this.name = opts.name;
    this.#windowMs = opts.windowMs ?? 10_000;
    this.#minimumRequests = opts.minimumRequests ?? 10;
    this.#failureRate = opts.failureRate ?? 0.5;
    this.#openMs = opts.openMs ?? 5_000;
    this.#halfOpenProbes = opts.halfOpenProbes ?? 1;
    this.#now = opts.now ?? (() => performance.now());
    this.#onStateChange = opts.onStateChange;
    if (!(this.#windowMs > 0) || !(this.#openMs >= 0) || !(this.#halfOpenProbes >= 1) || !(this.#failureRate > 0 && this.#failureRate <= 1)) {
      throw new RangeError(`CircuitBreaker ${this.name}: windowMs > 0, openMs >= 0, halfOpenProbes >= 1 and 0 < failureRate <= 1`);
    }
    this.#bucketMs = this.#windowMs / BUCKETS;
  }

  get state(): CircuitState {
    this.#refresh();
    return this.#state;
  }

  /**
   * Runs `fn` unless the circuit is open. A rejection counts as a failure when `isFailure` says so
   * (default: every rejection except local refusals); a resolved value counts as one when
   * `isFailedResult` says so (an HTTP 5xx response, say), and is returned all the same.
   */
  async run<T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean = () => true, isFailedResult?: (value: T) => boolean): Promise<T> {
    this.#admit();
    const generation = this.#generation;
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      this.#settle(generation, isLocalRefusal(err) ? undefined : isFailure(err));
      throw err;
    }
    this.#settle(generation, isFailedResult ? isFailedResult(value) : false);
    return value;
  }

  /** Throws CircuitOpenError, or takes a slot (a probe when half-open). */
  #admit(): void {
    this.#refresh();
    if (this.#state === 'OPEN') throw new CircuitOpenError(this.name, Math.max(0, this.#openUntil - this.#now()));
    if (this.#state === 'HALF_OPEN') {
      // The probes will tell within a call's timeout; a failed one keeps it open openMs more.
      if (this.#probes >= this.#halfOpenProbes) throw new CircuitOpenError(this.name, this.#openMs);
      this.#probes++;
    }
  }

  /** Records an outcome: true = failure, false = success, undefined = neither (a local refusal). */
  #settle(generation: number, failed: boolean | undefined): void {
    if (generation !== this.#generation) return; // admitted before the last transition
    if (this.#state === 'HALF_OPEN') {
      this.#probes--;
      if (failed === true) this.#open();
      else if (failed === false) this.#close();
      return;
    }
    if (failed === undefined) return;
    const now = this.#now();
    const slot = this.#slot(now);
    this.#calls[slot]!++;
    if (!failed) return;
    this.#failures[slot]!++;
    let calls = 0;
    let failures = 0;
    const current = Math.floor(now / this.#bucketMs);
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#epoch[i]! > current - BUCKETS) {
        calls += this.#calls[i]!;
        failures += this.#failures[i]!;
      }
    }
    if (calls >= this.#minimumRequests && failures / calls >= this.#failureRate) this.#open();
  }

  /** The bucket for `now`, emptied first if it last held an older period. */
  #slot(now: number): number {
    const epoch = Math.floor(now / this.#bucketMs);
    const slot = ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.#epoch[slot] !== epoch) {
      this.#epoch[slot] = epoch;
      this.#calls[slot] = 0;
      this.#failures[slot] = 0;
    }
    return slot;
  }

  #refresh(): void {
    if (this.#state === 'OPEN' && this.#now() >= this.#openUntil) {
      this.#probes = 0;
      this.#transition('HALF_OPEN');
    }
  }

  #open(): void {
    this.#openUntil = this.#now() + this.#openMs;
    this.#transition('OPEN');
  }

  #close(): void {
    this.#epoch.fill(-Infinity);
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#transition('CLOSED');
  }

  #transition(state: CircuitState): void {
    this.#state = state;
    this.#generation++;
    this.#onStateChange?.(state, this.name);
  }
}

// ---------------------------------------------------------------------------------------------
// Bulkhead

export interface BulkheadOptions {
  name: string;
  maxConcurrent: number;
  /** Callers that may wait for a slot; beyond this they are refused at once (0: never wait). */
  maxQueue: number;
  /** The longest a caller waits for a slot. */
  queueTimeoutMs: number;
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/** What a refused caller is told to wait before trying again. */
const BULKHEAD_RETRY_AFTER_MS = 1000;

export class Bulkhead {
  readonly name: string;
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  readonly #queueTimeoutMs: number;
  #active = 0;
  // A Set keeps insertion (FIFO) order and removes an expired waiter in O(1).
  readonly #queue = new Set<Waiter>();

  constructor(opts: BulkheadOptions) {
    if (!(opts.maxConcurrent >= 1) || !(opts.maxQueue >= 0) || !(opts.queueTimeoutMs >= 0)) {
      throw new RangeError(`Bulkhead ${opts.name}: maxConcurrent >= 1, maxQueue >= 0, queueTimeoutMs >= 0`);
    }
    this.name = opts.name;
    this.#maxConcurrent = opts.maxConcurrent;
    this.#maxQueue = opts.maxQueue;
    this.#queueTimeoutMs = opts.queueTimeoutMs;
  }

  /** Calls running now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Runs `fn` in a slot; `maxWaitMs` (e.g. what is left of a deadline) shortens the queue wait. */
  async run<T>(fn: () => Promise<T>, maxWaitMs?: number): Promise<T> {
    await this.#acquire(maxWaitMs === undefined ? this.#queueTimeoutMs : Math.min(this.#queueTimeoutMs, Math.max(0, maxWaitMs)));
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(waitMs: number): Promise<void> | void {
    if (this.#active < this.#maxConcurrent) {
      this.#active++;
      return;
    }
    if (this.#queue.size >= this.#maxQueue || waitMs <= 0) {
      throw new BulkheadFullError(this.name, this.#queue.size >= this.#maxQueue ? 'queue full' : 'wait expired', BULKHEAD_RETRY_AFTER_MS);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          this.#queue.delete(waiter);
          reject(new BulkheadFullError(this.name, 'wait expired', BULKHEAD_RETRY_AFTER_MS));
        }, waitMs).unref(),
      };
      this.#queue.add(waiter);
    });
  }

  /** Hands the slot straight to the first waiter (a newcomer cannot take it in between), or frees it. */
  #release(): void {
    const next = this.#queue.values().next();
    if (next.done) {
      this.#active--;
      return;
    }
    this.#queue.delete(next.value);
    clearTimeout(next.value.timer);
    next.value.grant();
  }
}

// ---------------------------------------------------------------------------------------------
// Retries

export interface RetryOptions {
  /** Attempts after the first. */
  retries?: number;
  baseMs?: number;
  maxMs?: number;
  retryable: (err: unknown) => boolean;
  /** In [0, 1); default Math.random. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms: no retry whose backoff would end at or after it. */
  deadline?: number;
  /** Epoch ms clock the deadline is read against (default Date.now). */
  now?: () => number;
}

/**
 * `fn(attempt)` (attempt 0 first), again after a failure `retryable` accepts, at most `retries`
 * more times, each after random() * min(maxMs, baseMs * 2^attempt) ms (full jitter: concurrent
 * callers do not retry in step). Rejects with the last error.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const retries = opts.retries ?? 2;
  const baseMs = opts.baseMs ?? 50;
  const maxMs = opts.maxMs ?? 1000;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => sleepFor(ms, undefined, { ref: false }));
  const now = opts.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !opts.retryable(err)) throw err;
      const delay = random() * Math.min(maxMs, baseMs * 2 ** attempt);
      if (opts.deadline !== undefined && now() + delay >= opts.deadline) throw err;
      await sleep(delay);
    }
  }
}

// Errors postJson (packages/kernel/src/http-client.ts) rejects with when the request did not
// complete at the peer: node's socket errors carry a `code`.
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED', // nothing listening (stopped, restarting)
  'ECONNRESET', // reset or hung up ('socket hang up') before the whole answer came
  'EPIPE', // written to a socket the peer had closed
  'ETIMEDOUT', // TCP connect timed out
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN', // DNS temporarily failing (a pod being rescheduled)
]);
// postJson's own timeout is a plain Error without a code: `${origin} did not answer within ${ms} ms`.
const POST_JSON_TIMEOUT = /did not answer within \d+ ms$/;

/**
 * Whether `err` means the call did not complete at the peer in a way that is safe to repeat for a
 * query (never for a mutation: a timed-out or reset one may have been applied). Local refusals
 * (circuit open, bulkhead full) are not: retrying them only adds load where there is too much.
 */
export function isRetryableTransport(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || isLocalRefusal(err)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return TRANSPORT_CODES.has(code);
  // Happy eyeballs (several addresses tried) rejects with an AggregateError of socket errors.
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(isRetryableTransport);
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && (message === 'socket hang up' || POST_JSON_TIMEOUT.test(message));
}

/**
 * What counts against a subgraph's circuit when a call rejects: a transport failure (as above)
 * or an error carrying an HTTP status >= 500 (`status`, `statusCode`, or the GraphQLError
 * ActorDataSource builds, `extensions.response.status`, or `extensions.code`
 * SERVICE_UNAVAILABLE). A 4xx, a GraphQL error in a 200 answer, or a bug of ours does not: the
 * subgraph answered.
 */
export function isSubgraphFailure(err: unknown): boolean {
  if (isRetryableTransport(err)) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { status?: unknown; statusCode?: unknown; extensions?: { code?: unknown; response?: { status?: unknown } } };
  const status = e.status ?? e.statusCode ?? e.extensions?.response?.status;
  if (typeof status === 'number') return status >= 500;
  return e.extensions?.code === 'SERVICE_UNAVAILABLE';
}

// ---------------------------------------------------------------------------------------------
// One subgraph's guard

export interface SubgraphGuardOptions {
  breaker?: Partial<Omit<CircuitBreakerOptions, 'name' | 'onStateChange' | 'now'>>;
  bulkhead: Omit<BulkheadOptions, 'name'>;
  /** Retries after the first attempt, for idempotent calls only. */
  retries: number;
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number; sleep?: (ms: number) => Promise<void> };
  /** Which rejections may be sent again (default isRetryableTransport). */
  retryable?: (err: unknown) => boolean;
  /** Which rejections count against the circuit (default isSubgraphFailure). */
  isFailure?: (err: unknown) => boolean;
  /** The breaker's monotonic clock (default performance.now). */
  breakerNow?: () => number;
  /** The epoch clock deadlines are read against (default Date.now). */
  now?: () => number;
  /** The breaker changed state (for metrics and logs); must not throw. */
  onStateChange?: (state: CircuitState, name: string) => void;
}

export interface GuardedCall<T> {
  /** A query may be sent again after a transport failure; a mutation never. */
  idempotent: boolean;
  /** Epoch ms after which no retry starts and no queue wait lasts. */
  deadline: number;
  /** A resolved value that is a failure of the subgraph all the same (an HTTP 5xx response). */
  isFailedResult?: (value: T) => boolean;
}

export class SubgraphGuard {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead;
  readonly #opts: SubgraphGuardOptions;
  readonly #now: () => number;

  constructor(name: string, opts: SubgraphGuardOptions) {
    this.name = name;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.breaker = new CircuitBreaker({
      ...opts.breaker,
      name,
      ...(opts.breakerNow ? { now: opts.breakerNow } : {}),
      ...(opts.onStateChange ? { onStateChange: opts.onStateChange } : {}),
    });
    this.bulkhead = new Bulkhead({ ...opts.bulkhead, name });
  }

  get state(): CircuitState {
    return this.breaker.state;
  }

  /** breaker -> bulkhead -> send(attempt), retried when idempotent, retryable and the deadline allows. */
  call<T>(send: (attempt: number) => Promise<T>, { idempotent, deadline, isFailedResult }: GuardedCall<T>): Promise<T> {
    const isFailure = this.#opts.isFailure ?? isSubgraphFailure;
    const once = (attempt: number) =>
      this.breaker.run(() => this.bulkhead.run(() => send(attempt), deadline - this.#now()), isFailure, isFailedResult);
    if (!idempotent) return once(0);
    return withRetries(once, {
      ...this.#opts.backoff,
      retries: this.#opts.retries,
      retryable: this.#opts.retryable ?? isRetryableTransport,
      deadline,
      now: this.#now,
    });
  }
}
