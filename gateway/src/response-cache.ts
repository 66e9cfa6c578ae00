// The gateway's response cache: whole query answers kept in Redis, shared by every gateway
// replica, following the cache hints the subgraphs send (`@cacheControl`, which reach the
// gateway as each subgraph's Cache-Control and are folded into `overallCachePolicy`).
//
// What a cached answer can reach (the part that must never be wrong):
//   - Every key names the caller's organization (tenant); callers without one (anonymous, or a
//     user before choosing an organization) share a bucket of their own, `-`.
//   - A PUBLIC answer is shared only by callers who see the same thing: the key holds a hash of
//     the caller's kind (user / API key / anonymous), roles, super-admin flag and API-key
//     scopes: everything in the actor a resolver may look at to decide what to show. A
//     resolver whose answer depends on anything else (the user, their enrollments) marks it
//     PRIVATE.
//   - A PRIVATE answer is additionally keyed by the user id (or the API key id). An anonymous
//     caller has no identity of its own, so PRIVATE answers are not cached for it.
//   - The operation part of a key hashes the schema, the query, the operation name and the
//     variables (keys sorted), so only an identical request on the same supergraph matches.
//   - Clients are told `cache-control: private, max-age=N`, never `public`: even a PUBLIC
//     answer is per organization and per role, which no shared HTTP cache could respect.
//
// Invalidation: one generation counter per organization (`<prefix>rc-gen:{<tenant>}`).
// `invalidateTenant` increments it; an entry remembers the generation it was computed under
// and counts only while that is still current. Tenant-wide on purpose: a course that is
// published must appear in every list and search that did not contain it, and which cached
// answers those are cannot be known from the course id; publishing is rare next to reading,
// so clearing the organization's answers costs little. The bucket `-` is cleared with every
// organization (an anonymous public catalog may list any organization's courses). An answer
// computed while an invalidation happened is stored under the old generation and so is never
// served. (The generation lives in the entry rather than in the key: a lookup is one MGET of
// the counter and both candidate entries, all under the organization's hash tag, so it works
// on a Redis Cluster without a script, and an entry stored again overwrites its predecessor.)
//
// Stampedes:
//   - Single flight per key within a process: the first request that misses executes; the
//     others of this process wait for its answer (at most `waitMs`) and answer it (or, when
//     its answer cannot be cached or is another user's PRIVATE one, execute themselves).
//     Replicas do not wait for each other: a miss on N replicas at once costs at most N
//     subgraph calls, which keeps this free of cross-replica polling.
//   - Freshness is jittered (maxAge × (1 − jitter × random)), so entries stored together do not
//     all expire together.
//   - Stale-while-revalidate: after its freshness an entry is kept `staleSeconds` more; one
//     request (the one that takes `<key>:lock` with SET NX, across replicas) executes and
//     replaces it, every other request meanwhile gets the stale answer (`x-cache: STALE`).
//   - Negative caching: an answer whose errors are all NOT_FOUND is kept `negativeTtlSeconds`.
//
// Memory: Lectern's Redis runs with `noeviction`, so nothing here lives long: max-ages are cut
// to `maxTtlSeconds`, answers over `maxEntryBytes` are not kept, and an entry expires when its
// stale window ends.
//
// Redis trouble never fails a request: a lookup that errs or takes longer than
// `redisTimeoutMs` bypasses the cache (`x-cache: BYPASS`; single flight still holds), and a
// store that fails is only logged.
//
// Response headers: `x-cache` is HIT, STALE, MISS, REFRESH or BYPASS; a cached answer also has
// `age` (seconds since it was computed). Wiring: `responseCachePlugin(cache)` in ApolloServer's
// `plugins` (Apollo's cache-control plugin, added after user plugins, leaves our
// `cache-control` alone; if it is ever installed explicitly, it must come after this one).
import { createHash, randomUUID } from 'node:crypto';
import { printSchema, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLResponse } from '@apollo/server';
import type { Actor } from '@lectern/kernel/actor';
import { within } from '@lectern/kernel/deadline';
import type { Logger } from '@lectern/kernel/logger';
import type { Redis } from '@lectern/kernel/redis';

export type CacheScope = 'PUBLIC' | 'PRIVATE';

/**
 * What happened, for metrics. Each cacheable request reports exactly one of hit, stale,
 * refresh, miss, bypass; `wait` when it waited for another request of this process first;
 * `store` / `negative` when an answer (a NOT_FOUND one) was written to Redis.
 */
export type CacheEvent = 'hit' | 'stale' | 'refresh' | 'miss' | 'bypass' | 'wait' | 'store' | 'negative';

/** One cached answer as kept in Redis. Times are epoch milliseconds. */
export interface CacheEntry {
  v: 1;
  /** The organization's generation it was computed under; it counts only while that is current. */
  gen: string;
  body: { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] };
  storedAt: number;
  freshUntil: number;
  staleUntil: number;
  /** The policy's maxAge (seconds), for the client's Cache-Control. */
  maxAge: number;
  scope: CacheScope;
  negative?: true;
}

export interface CacheKeys {
  /** The generation counter of the caller's organization. */
  gen: string;
  /** The entry a PUBLIC answer is kept under (organization + visibility + operation). */
  public: string;
  /** The entry a PRIVATE answer is kept under (… + the caller); null for a caller without an identity. */
  private: string | null;
  principal: string | null;
  anonymous: boolean;
}

export interface CacheOperation {
  /** The schema the operation runs on (answers of another schema version are not reused). */
  schema: GraphQLSchema;
  /** sha256 of the query text (Apollo's `queryHash`). */
  queryHash: string;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | undefined;
}

export interface Lookup {
  /** The organization's current generation. */
  gen: string;
  /** A current entry (fresh, else stale) and the key it was found under. */
  found: { key: string; entry: CacheEntry; state: 'fresh' | 'stale' } | null;
}

/** The result a leader hands to the requests that waited for it. */
interface Outcome {
  entry: CacheEntry;
  principal: string | null;
}

interface Flight {
  /** The generation its leader read (null: Redis did not answer). */
  gen: string | null;
  promise: Promise<Outcome | null>;
  settle(outcome: Outcome | null): void;
}

export interface ResponseCacheOptions {
  redis: Redis;
  /** Key prefix (the process's REDIS_PREFIX); keys are `<prefix>rc:…` and `<prefix>rc-gen:…`. */
  prefix: string;
  log: Pick<Logger, 'warn'>;
  now?: () => number;
  random?: () => number;
  /** Freshness is shortened by up to this fraction, at random (default 0.1). */
  jitter?: number;
  /** How long an answer may be served stale while one request refreshes it (default: its maxAge, at most `maxStaleSeconds`). */
  staleSeconds?: number;
  maxStaleSeconds?: number;
  /** How long a NOT_FOUND answer is kept (default 5 s). */
  negativeTtlSeconds?: number;
  /** Longer max-ages are cut to this (default 3600 s): entries of a cleared generation linger until they expire. */
  maxTtlSeconds?: number;
  /** Larger answers are not stored (default 256 KiB). */
  maxEntryBytes?: number;
  /** A lookup slower than this bypasses the cache (default 50 ms). */
  redisTimeoutMs?: number;
  /** The longest a request waits for another one's answer, and the refresh lock's lifetime (default 10 s: the request deadline). */
  waitMs?: number;
}

const BUCKET_WITHOUT_TENANT = '-';
/** Redis keeps an entry this much longer than it can be served (clock steps, slow stores). */
const EXPIRY_MARGIN_MS = 1000;
const WARN_EVERY_MS = 60_000;

const sha = (s: string) => createHash('sha256').update(s).digest('base64url');

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` are one key. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const parts = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const schemaIds = new WeakMap<GraphQLSchema, string>();
/** The same for every replica serving the same supergraph; computed once per schema object. */
function schemaId(schema: GraphQLSchema): string {
  let id = schemaIds.get(schema);
  if (!id) schemaIds.set(schema, (id = sha(printSchema(schema)).slice(0, 16)));
  return id;
}

/** What in the actor may change what a resolver shows (besides the organization and the person). */
function visibilityOf(actor: Actor): string {
  return canonicalJson({ kind: actor.kind, roles: [...actor.roles].sort(), superAdmin: actor.superAdmin, scopes: [...actor.scopes].sort() });
}

const principalOf = (actor: Actor): string | null => (actor.apiKeyId ? `key:${actor.apiKeyId}` : actor.userId ? `user:${actor.userId}` : null);

function rootFieldsAllNull(data: Record<string, unknown> | null | undefined): boolean {
  return !data || Object.values(data).every((v) => v === null);
}

export class ResponseCache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #log: Pick<Logger, 'warn'>;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #jitter: number;
  readonly #staleSeconds: number | undefined;
  readonly #maxStaleSeconds: number;
  readonly #negativeTtlSeconds: number;
  readonly #maxTtlSeconds: number;
  readonly #maxEntryBytes: number;
  readonly #redisTimeoutMs: number;
  readonly waitMs: number;
  readonly #flights = new Map<string, Flight>();
  readonly #refreshing = new Set<string>();
  #lastWarn = 0;

  constructor(o: ResponseCacheOptions) {
    this.#redis = o.redis;
    this.#prefix = o.prefix;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
    this.#random = o.random ?? Math.random;
    this.#jitter = Math.min(Math.max(o.jitter ?? 0.1, 0), 1);
    this.#staleSeconds = o.staleSeconds;
    this.#maxStaleSeconds = o.maxStaleSeconds ?? 300;
    this.#negativeTtlSeconds = o.negativeTtlSeconds ?? 5;
    this.#maxTtlSeconds = o.maxTtlSeconds ?? 3600;
    this.#maxEntryBytes = o.maxEntryBytes ?? 256 * 1024;
    this.#redisTimeoutMs = o.redisTimeoutMs ?? 50;
    this.waitMs = o.waitMs ?? 10_000;
  }

  now(): number {
    return this.#now();
  }

  /** The generation counter of an organization (`null`: callers without one). */
  #genKey(tenantId: string | null): string {
    return `${this.#prefix}rc-gen:{${tenantId ?? BUCKET_WITHOUT_TENANT}}`;
  }

  /** Where `actor`'s answer to `op` is kept. */
  keysFor(actor: Actor, op: CacheOperation): CacheKeys {
    const bucket = actor.tenantId ?? BUCKET_WITHOUT_TENANT;
    const operation = sha(canonicalJson([schemaId(op.schema), op.queryHash, op.operationName ?? null, op.variables ?? {}]));
    const pub = `${this.#prefix}rc:{${bucket}}:${operation}:${sha(visibilityOf(actor)).slice(0, 22)}`;
    const principal = principalOf(actor);
    return {
      gen: this.#genKey(actor.tenantId),
      public: pub,
      private: principal ? `${pub}:${sha(principal).slice(0, 22)}` : null,
      principal,
      anonymous: actor.kind === 'anonymous',
    };
  }

  /** The generation and a current entry for `keys`, in one round trip; rejects when Redis errs or is slow. */
  async lookup(keys: CacheKeys): Promise<Lookup> {
    const names = keys.private ? [keys.gen, keys.public, keys.private] : [keys.gen, keys.public];
    const raw = await within(this.#redisTimeoutMs, () => this.#redis.mget(...names), `response cache lookup took over ${this.#redisTimeoutMs} ms`);
    const gen = raw[0] ?? '0';
    const now = this.#now();
    let stale: Lookup['found'] = null;
    // PRIVATE first: when both exist (the policy changed), the caller's own answer is the closer one.
    for (const i of [2, 1]) {
      const key = names[i];
      const entry = key ? parse(raw[i] ?? null) : null;
      if (!key || !entry || entry.gen !== gen || now >= entry.staleUntil) continue;
      if (now < entry.freshUntil) return { gen, found: { key, entry, state: 'fresh' } };
      stale ??= { key, entry, state: 'stale' };
    }
    return { gen, found: stale };
  }

  /**
   * The entry to keep for an executed answer, or null when it must not be kept: errors other
   * than NOT_FOUND, an uncacheable policy (unless the answer is nothing but NOT_FOUND), or a
   * PRIVATE answer to a caller without an identity.
   */
  entryFor(
    result: { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] },
    policy: { maxAge: number; scope: CacheScope } | null,
    gen: string,
    keys: Pick<CacheKeys, 'principal' | 'anonymous'>,
  ): CacheEntry | null {
    const errors = result.errors ?? [];
    let maxAge: number;
    let scope: CacheScope;
    let negative = false;
    if (errors.length === 0) {
      if (!policy) return null;
      ({ maxAge, scope } = policy);
    } else {
      if (!errors.every((e) => e.extensions?.code === 'NOT_FOUND')) return null;
      // A subgraph answering with errors sends `no-store`, so an answer that is only "not found"
      // may have no policy: it is then kept for this caller alone (for an anonymous caller,
      // for everyone anonymous: they are indistinguishable). Data beside the errors counts only
      // when its policy says it may be cached.
      if (!policy && !rootFieldsAllNull(result.data)) return null;
      maxAge = Math.min(this.#negativeTtlSeconds, policy?.maxAge ?? Infinity);
      scope = policy?.scope ?? (keys.anonymous ? 'PUBLIC' : 'PRIVATE');
      negative = true;
    }
    if (scope === 'PRIVATE' && !keys.principal) return null;
    maxAge = Math.min(maxAge, this.#maxTtlSeconds);
    if (!(maxAge > 0)) return null;
    const now = this.#now();
    const freshUntil = now + Math.round(maxAge * 1000 * (1 - this.#jitter * this.#random()));
    const staleMs = negative ? 0 : Math.min(this.#staleSeconds ?? maxAge, this.#maxStaleSeconds) * 1000;
    return {
      v: 1,
      gen,
      body: { data: result.data, ...(errors.length ? { errors } : {}) },
      storedAt: now,
      freshUntil,
      staleUntil: freshUntil + staleMs,
      maxAge,
      scope,
      ...(negative ? { negative: true as const } : {}),
    };
  }

  /**
   * Writes `entry` under `keys` (its scope decides which key) unless it is too large; releases
   * `lock` in the same round trip. True when written.
   */
  async store(keys: CacheKeys, entry: CacheEntry, lock?: string): Promise<boolean> {
    const key = entry.scope === 'PRIVATE' ? keys.private : keys.public;
    const json = JSON.stringify(entry);
    if (!key || Buffer.byteLength(json) > this.#maxEntryBytes) {
      if (lock) await this.unlock(lock);
      return false;
    }
    const ttl = Math.max(1, Math.ceil(entry.staleUntil - this.#now())) + EXPIRY_MARGIN_MS;
    const tx = this.#redis.multi().set(key, json, 'PX', ttl);
    if (lock) tx.del(lock);
    // Awaited before the answer leaves (the next request then finds it), so bounded more tightly
    // than a wait, more loosely than a lookup (a write of up to maxEntryBytes).
    const bound = Math.max(this.#redisTimeoutMs, 250);
    const results = await within(bound, () => tx.exec(), `response cache store took over ${bound} ms`);
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('response cache store was discarded');
    return true;
  }

  /** Takes the right to refresh the stale entry at `key` (one request across replicas); the lock's key, or null. */
  async lockRefresh(key: string): Promise<string | null> {
    const lock = `${key}:lock`;
    const ok = await within(this.#redisTimeoutMs, () => this.#redis.set(lock, randomUUID(), 'PX', this.waitMs, 'NX'), 'response cache lock timed out');
    return ok === 'OK' ? lock : null;
  }

  async unlock(lock: string): Promise<void> {
    await within(this.#redisTimeoutMs, () => this.#redis.del(lock), 'response cache unlock timed out');
  }

  /**
   * Makes every cached answer of `tenantId` (and of callers without an organization) stale for
   * good: the next request executes. Call it on the domain events that change what an
   * organization's readers see (CoursePublished, CourseUnpublished…). Rejects when Redis does
   * not answer, so an event consumer retries.
   */
  async invalidateTenant(tenantId: string): Promise<void> {
    await Promise.all([this.#redis.incr(this.#genKey(tenantId)), this.#redis.incr(this.#genKey(null))]);
  }

  /** The request of this process executing `key` now, if any. */
  flight(key: string): Flight | undefined {
    return this.#flights.get(key);
  }

  /** Registers the caller as the one request of this process executing `key`. */
  lead(key: string, gen: string | null): Flight {
    let settle!: (o: Outcome | null) => void;
    const promise = new Promise<Outcome | null>((resolve) => (settle = resolve));
    // A leader that never reaches willSendResponse (its request failed elsewhere) frees the
    // key after the longest wait; its followers then execute themselves.
    const timer = setTimeout(() => flight.settle(null), this.waitMs);
    timer.unref();
    const flight: Flight = {
      gen,
      promise,
      settle: (o) => {
        clearTimeout(timer);
        settle(o);
      },
    };
    this.#flights.set(key, flight);
    return flight;
  }

  /** Ends `flight` (after its answer is stored, so a request that just missed in Redis still finds it here). */
  land(key: string, flight: Flight): void {
    flight.settle(null); // no-op when already settled
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }

  /** Whether this process is already refreshing `key` (then the others get the stale answer without asking Redis). */
  refreshing(key: string): boolean {
    return this.#refreshing.has(key);
  }
  markRefreshing(key: string, on: boolean): void {
    if (on) this.#refreshing.add(key);
    else this.#refreshing.delete(key);
  }

  /** Logs a Redis failure at most once a minute (a down Redis would otherwise log per request). */
  warn(err: unknown, message: string): void {
    const now = Date.now();
    if (now - this.#lastWarn < WARN_EVERY_MS) return;
    this.#lastWarn = now;
    this.#log.warn({ err }, message);
  }
}

function parse(raw: string | null): CacheEntry | null {
  if (!raw) return null;
  try {
    const e = JSON.parse(raw) as CacheEntry;
    return e && e.v === 1 && typeof e.gen === 'string' && typeof e.staleUntil === 'number' ? e : null;
  } catch {
    return null;
  }
}

export interface ResponseCachePluginOptions<C> {
  /** False: this request neither reads nor writes the cache (e.g. a test, an operator's tool). */
  enabled?: (context: C) => boolean;
  /** Metrics (e.g. a prom-client counter labelled by event). */
  onEvent?: (event: CacheEvent) => void;
}

type RequestState =
  | { kind: 'none' }
  | { kind: 'served'; entry: CacheEntry; how: 'HIT' | 'STALE' }
  | {
      kind: 'execute';
      role: 'leader' | 'refresh' | 'self' | 'bypass';
      keys: CacheKeys;
      /** The generation read at lookup; null when the lookup failed (nothing is stored then). */
      gen: string | null;
      flight?: { key: string; flight: Flight };
      lock?: { entryKey: string; lockKey: string };
    };

/** Directives of the request's Cache-Control (`no-cache`: do not answer from the cache; `no-store`: leave it alone). */
function requestDirectives(header: string | undefined): Set<string> {
  return new Set((header ?? '').split(',').map((d) => d.trim().toLowerCase().split('=')[0] ?? ''));
}

/** The Apollo plugin serving queries from `cache` and filling it. */
export function responseCachePlugin<C extends BaseContext & { actor?: Actor | null }>(cache: ResponseCache, opts: ResponseCachePluginOptions<C> = {}): ApolloServerPlugin<C> {
  const report = (event: CacheEvent) => {
    try {
      opts.onEvent?.(event);
    } catch {
      // metrics never fail a request
    }
  };
  return {
    async requestDidStart() {
      let state: RequestState = { kind: 'none' };

      const serve = (entry: CacheEntry, how: 'HIT' | 'STALE', metrics: { responseCacheHit?: boolean }): GraphQLResponse => {
        state = { kind: 'served', entry, how };
        metrics.responseCacheHit = true;
        report(how === 'HIT' ? 'hit' : 'stale');
        return { http: { headers: new HeaderMap() }, body: { kind: 'single', singleResult: { ...entry.body } } };
      };

      return {
        async responseForOperation(ctx) {
          if (ctx.operation.operation !== 'query') return null;
          const actor = ctx.contextValue.actor;
          const queryHash = ctx.queryHash;
          if (!actor || !queryHash) return null;
          if (opts.enabled && !opts.enabled(ctx.contextValue)) return null;
          const directives = requestDirectives(ctx.request.http?.headers.get('cache-control'));
          if (directives.has('no-store')) return null;
          const keys = cache.keysFor(actor, { schema: ctx.schema, queryHash, operationName: ctx.request.operationName, variables: ctx.request.variables });

          let lookup: Lookup | null = null;
          try {
            lookup = await cache.lookup(keys);
          } catch (err) {
            cache.warn(err, 'response cache unavailable; answering without it');
          }
          const gen = lookup?.gen ?? null;
          const found = directives.has('no-cache') ? null : lookup?.found;
          if (found?.state === 'fresh') return serve(found.entry, 'HIT', ctx.metrics);
          if (found?.state === 'stale') {
            if (!cache.refreshing(found.key)) {
              const lockKey = await cache.lockRefresh(found.key).catch(() => null);
              if (lockKey) {
                cache.markRefreshing(found.key, true);
                state = { kind: 'execute', role: 'refresh', keys, gen, lock: { entryKey: found.key, lockKey } };
                report('refresh');
                return null;
              }
            }
            return serve(found.entry, 'STALE', ctx.metrics);
          }
          if (lookup && directives.has('no-cache')) {
            // Asked for a fresh answer: computed anew, and it replaces the cached one.
            state = { kind: 'execute', role: 'self', keys, gen };
            report('miss');
            return null;
          }

          // A miss (or Redis unavailable): one request of this process executes, the others wait
          // for it; not for an answer begun under an older generation (an invalidation came
          // between), though a request that could not read the generation takes any.
          const flightKey = keys.public;
          const running = cache.flight(flightKey);
          if (running && (running.gen === gen || gen === null)) {
            report('wait');
            const outcome = await running.promise;
            if (outcome && (outcome.entry.scope === 'PUBLIC' || outcome.principal === keys.principal)) return serve(outcome.entry, 'HIT', ctx.metrics);
            state = { kind: 'execute', role: lookup ? 'self' : 'bypass', keys, gen };
            report(lookup ? 'miss' : 'bypass');
            return null;
          }
          const flight = running ? undefined : { key: flightKey, flight: cache.lead(flightKey, gen) };
          state = { kind: 'execute', role: lookup ? (flight ? 'leader' : 'self') : 'bypass', keys, gen, ...(flight ? { flight } : {}) };
          report(lookup ? 'miss' : 'bypass');
          return null;
        },

        async willSendResponse(ctx) {
          // Before any await: Apollo's cache-control plugin runs after this one and leaves a
          // `cache-control` it did not write alone.
          const headers = ctx.response.http.headers;
          if (state.kind === 'served') {
            const { entry, how } = state;
            const now = cache.now();
            headers.set('x-cache', how);
            headers.set('age', String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))));
            // A NOT_FOUND answer as Apollo sends any answer with errors; a stale one only for now.
            const maxAge = how === 'STALE' ? 0 : Math.max(0, Math.floor((entry.freshUntil - now) / 1000));
            headers.set('cache-control', entry.negative ? 'no-store' : `private, max-age=${maxAge}`);
            return;
          }
          const body = ctx.response.body;
          const single = body.kind === 'single' ? body.singleResult : null;
          const policy = ctx.overallCachePolicy.policyIfCacheable();
          // Never `public` to clients, whether or not this request used the cache.
          if (single && policy && !single.errors?.length) headers.set('cache-control', `private, max-age=${policy.maxAge}`);
          if (state.kind !== 'execute') return;
          const s = state;
          headers.set('x-cache', s.role === 'refresh' ? 'REFRESH' : s.role === 'bypass' ? 'BYPASS' : 'MISS');

          const entry = single && (ctx.response.http.status ?? 200) === 200 ? cache.entryFor(single, policy, s.gen ?? '', s.keys) : null;
          s.flight?.flight.settle(entry ? { entry, principal: s.keys.principal } : null);
          try {
            if (entry && s.gen !== null) {
              const stored = await cache.store(s.keys, entry, s.lock?.lockKey);
              if (stored) report(entry.negative ? 'negative' : 'store');
            } else if (s.lock) {
              await cache.unlock(s.lock.lockKey);
            }
          } catch (err) {
            cache.warn(err, 'response cache could not store an answer');
          } finally {
            if (s.flight) cache.land(s.flight.key, s.flight.flight);
            if (s.lock) cache.markRefreshing(s.lock.entryKey, false);
          }
        },
      };
    },
  };
}
