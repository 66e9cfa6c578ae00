// GraphQL subscriptions, subgraph side: how a subgraph streams live events.
//
// The picture (the gateway's side is gateway/src/subscriptions/, its engine.ts header first):
//
//   code that changed something ── publish() ──> Redis PUBLISH on
//        `${REDIS_PREFIX}sub:${subgraph}:${tenantId}:${channel}`
//   Redis ──> this process's ONE subscriber connection (ChannelHub) ──> every local stream
//        subscribed to that channel (ChannelStream: a bounded queue per subscription)
//   each event ──> graphql `execute` with a FRESH context (its own unit of work) and the
//        payload as root value ──> the subscriber's WebSocket (graphql-ws at /graphql).
//
// Subgraph code names only `channel` (`session:<uuid>`, `user:<uuid>`); the kernel adds the
// subgraph and the tenant (the subscriber's), so a channel never crosses tenants, and
// REDIS_PREFIX, so test runs and deployments sharing a Redis never hear each other.
//
// A subscription field is declared with `subscriptionField({ admit, resolve })`:
//   - `admit(args, ctx)` authorizes ctx.actor (throw NOT_FOUND/FORBIDDEN… to refuse) and answers
//     the Admission: the channel, and optionally a lease (presence: "subscribed = present").
//   - `resolve(payload, args, ctx)` turns one published payload into the field's value for this
//     subscriber, in a fresh context per event; null/undefined skips the event for it.
//
// Who subscribes:
//   - the gateway, over one graphql-ws socket per subgraph per gateway process. It first POSTs
//     the document to `/subscriptions/admit` (authorization + channel + lease, no Redis
//     subscription), shares one upstream subscription among identical client subscriptions, and
//     subscribes with `extensions.shared = true`: the kernel authorizes again but starts no
//     lease (the gateway holds one per client, renewing them via `/subscriptions/leases`).
//   - a direct subscriber (no `shared`): the kernel itself starts the admission's lease, renews
//     it with every other lease of this process in one batch every ttl/3 (LeaseKeeper) and
//     releases it when the subscription ends.
//   Either way the socket's `connection_init` payload is `{ service: <gateway's service token
//   for this subgraph> }` (else close 4403) and each subscribe carries the gateway-signed actor
//   in `extensions.actor` (else an UNAUTHENTICATED error).
//
// Redis: pub/sub is fire-and-forget, so events published while Redis is down are lost (a client
// that needs all of them re-reads state after reconnecting). The subscriber connection
// re-subscribes its channels by itself when Redis returns (ioredis autoResubscribe); a
// subscribe while Redis is down fails at once with SERVICE_UNAVAILABLE. A subscriber too slow
// to take its events loses the oldest beyond QUEUE_LIMIT (counted: events{outcome="dropped"}).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { createSourceEventStream, execute, getOperationAST, GraphQLError, parse, validate } from 'graphql';
import type {
  DocumentNode,
  ExecutionArgs,
  ExecutionResult,
  GraphQLResolveInfo,
  GraphQLFormattedError,
  GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { ACTOR_HEADER, type Actor, type ActorVerifier } from './actor.ts';
import { forbidden, serviceUnavailable, unauthenticated } from './errors.ts';
import { DEFAULT_BODY_LIMIT, graphqlErrorBody, HttpError, readBody, sendJson, type Route } from './http.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { SERVICE_HEADER, type ServiceVerifier } from './service-auth.ts';
import type { UnitOfWork } from './uow.ts';

/** Events a subscription may have waiting before the oldest are dropped. */
export const QUEUE_LIMIT = 256;
/** Most lease ids in one `/subscriptions/leases` call, per list. */
export const LEASE_BATCH_LIMIT = 20_000;
export const ADMIT_PATH = '/subscriptions/admit';
export const LEASES_PATH = '/subscriptions/leases';
/** Close code of a subgraph shutting down (RFC 6455 "going away"). */
const GOING_AWAY = 1001;

// ───────────────────────────── publishing ─────────────────────────────

/** The full Redis channel of a tenant's `channel` of `subgraph`. */
export const redisChannel = (prefix: string, subgraph: string, tenantId: string, channel: string) => `${prefix}sub:${subgraph}:${tenantId}:${channel}`;

/**
 * Publishes one event on a tenant's channel of this subgraph; call it after the commit that made
 * the change (subscribers re-read in their own transaction). ioredis's keyPrefix does not apply
 * to PUBLISH, so the channel carries the prefix explicitly: `opts.prefix`, else the client's
 * keyPrefix (the subgraph's `deps.redis` has REDIS_PREFIX as keyPrefix). A worker's client has
 * none: pass `{ prefix: env.REDIS_PREFIX }`. Subgraph code may use `deps.publish` instead.
 */
export async function publish(redis: Redis, subgraph: string, tenantId: string, channel: string, payload: unknown, opts: { prefix?: string } = {}): Promise<void> {
  const prefix = opts.prefix ?? redis.options.keyPrefix ?? '';
  await redis.publish(redisChannel(prefix, subgraph, tenantId, channel), JSON.stringify(payload));
}

/** `publish` bound to a subgraph and prefix: `SubgraphDeps.publish`. */
export type Publish = (tenantId: string, channel: string, payload: unknown) => Promise<void>;

export function publisher(redis: Redis, subgraph: string, prefix: string, metrics?: Metrics): Publish {
  return async (tenantId, channel, payload) => {
    await publish(redis, subgraph, tenantId, channel, payload, { prefix });
    metrics?.subscriptionEvents.inc({ outcome: 'published' });
  };
}

// ───────────────────────────── declaring fields ─────────────────────────────

export interface Admission {
  /** Channel within the actor's tenant whose events this subscription streams. */
  channel: string;
  /** Present when the subscriber holds a lease (e.g. presence) while subscribed. */
  lease?: (leaseId: string) => Promise<void>;
  /**
   * The channel carries one person's events (their inbox): the gateway completes each event's
   * other fields as that person. Otherwise (a session's chat, shared by everyone admitted) it
   * completes them once for everyone with the same organization and roles, as no one in
   * particular, so no subscriber's private data reaches another.
   */
  personal?: boolean;
}

/** Per-subgraph lease handler, returned by SubgraphDefinition.leases(deps, runtime). */
export interface LeaseHandler {
  ttlSeconds: number;
  /**
   * Extends these leases; returns the ids it does not hold (expired meanwhile, e.g. while this
   * subgraph or Redis was down for longer than the ttl), whose subscribers the gateway admits
   * again so they hold a lease again.
   */
  renew(ids: string[]): Promise<string[] | void>;
  /** Ends these leases (unknown ids are ignored). */
  release(ids: string[]): Promise<void>;
}

/** The part of a subgraph context subscription fields read. */
interface SubscriptionContext {
  actor: Actor;
  uow: UnitOfWork;
}

/** Thrown by a field's resolve for an event it skips; the kernel drops that event for that subscriber. */
class SkipEvent extends Error {}

/** Hubs of the contexts the kernel builds (keyed by their unit of work, which every context carries). */
const hubs = new WeakMap<UnitOfWork, ChannelHub>();
/** Kernel: the context whose unit of work is `uow` streams from `hub`. */
export const attachHub = (uow: UnitOfWork, hub: ChannelHub | undefined) => {
  if (hub) hubs.set(uow, hub);
};

// The field's type is the SDL's (codegen's resolver types check it where the map is typed).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FieldValue = any;

/** What `subscriptionField` returns: graphql's `subscribe` and `resolve` of the field. */
export interface SubscriptionFieldResolvers<Ctx, Args> {
  subscribe(parent: unknown, args: Args, ctx: Ctx, info?: GraphQLResolveInfo): Promise<AsyncIterable<FieldValue>>;
  resolve(payload: FieldValue, args: Args, ctx: Ctx, info?: GraphQLResolveInfo): Promise<FieldValue>;
}

/** Defines a subscription field of a subgraph resolver map: `Subscription: { x: subscriptionField({...}) }`. */
export function subscriptionField<Ctx extends SubscriptionContext, Args = Record<string, unknown>, Payload = unknown>(def: {
  /** Authorizes ctx.actor for args (throw a GraphQLError, e.g. NOT_FOUND, to refuse) and names the channel. */
  admit(args: Args, ctx: Ctx): Promise<Admission>;
  /** The field's value for one published payload; return null/undefined to skip this event for this subscription. Default: the payload. */
  resolve?(payload: Payload, args: Args, ctx: Ctx): unknown;
}): SubscriptionFieldResolvers<Ctx, Args> {
  return {
    async subscribe(_parent, args, ctx) {
      const admission = await def.admit(args, ctx);
      const tenantId = ctx.uow.tenantId ?? ctx.actor.tenantId;
      if (!tenantId) throw forbidden('Subscriptions stream the events of one organization: sign in to one');
      if (typeof admission?.channel !== 'string' || admission.channel === '') throw new Error('subscriptionField: admit must answer a channel');
      return new ChannelStream(admission, tenantId, hubs.get(ctx.uow));
    },
    async resolve(payload, args, ctx) {
      const value: unknown = def.resolve ? await def.resolve(payload as Payload, args, ctx) : payload;
      if (value === null || value === undefined) throw new SkipEvent('event skipped');
      return value;
    },
  };
}

// ───────────────────────────── local streams ─────────────────────────────

/**
 * What a subscription field's `subscribe` returns: an async iterable over the payloads published
 * on its admission's channel. Lazy: it subscribes (through the process's ChannelHub) on `open()`
 * or the first `next()`, and unsubscribes on `return()`. The admit route reads `admission` and
 * returns it without ever subscribing.
 */
export class ChannelStream implements AsyncIterableIterator<unknown> {
  readonly admission: Admission;
  readonly tenantId: string;
  #hub: ChannelHub | undefined;
  #state: 'idle' | 'opening' | 'open' | 'done' = 'idle';
  #opening: Promise<void> | undefined;
  #queue: unknown[] = [];
  #waiting: ((r: IteratorResult<unknown>) => void) | undefined;

  constructor(admission: Admission, tenantId: string, hub: ChannelHub | undefined) {
    this.admission = admission;
    this.tenantId = tenantId;
    this.#hub = hub;
  }

  get channel(): string {
    return this.admission.channel;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Subscribes on Redis (once); fails with SERVICE_UNAVAILABLE while Redis is down. */
  open(): Promise<void> {
    if (this.#state === 'done') return Promise.resolve();
    if (!this.#hub) return Promise.reject(new Error('this subscription stream was not made by the kernel host (no channel hub)'));
    const hub = this.#hub;
    this.#opening ??= (async () => {
      this.#state = 'opening';
      await hub.add(this);
      if (this.#state === 'opening') this.#state = 'open';
      else await hub.remove(this); // returned while subscribing
    })();
    return this.#opening;
  }

  async next(): Promise<IteratorResult<unknown>> {
    if (this.#state === 'idle' || this.#state === 'opening') await this.open();
    if (this.#queue.length) return { value: this.#queue.shift(), done: false };
    if (this.#state === 'done') return { value: undefined, done: true };
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  async return(): Promise<IteratorResult<unknown>> {
    const was = this.#state;
    this.#state = 'done';
    this.#queue = [];
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ value: undefined, done: true });
    if (was === 'open') await this.#hub?.remove(this);
    return { value: undefined, done: true };
  }

  async throw(err?: unknown): Promise<IteratorResult<unknown>> {
    await this.return();
    throw err;
  }

  /** Hub: one published payload. Returns false when the oldest waiting event was dropped. */
  push(payload: unknown): boolean {
    if (this.#state === 'idle' || this.#state === 'done') return true;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ value: payload, done: false });
      return true;
    }
    this.#queue.push(payload);
    if (this.#queue.length > QUEUE_LIMIT) {
      this.#queue.shift();
      return false;
    }
    return true;
  }
}

/**
 * The process's Redis subscriber connection for one subgraph: reference-counted SUBSCRIBE /
 * UNSUBSCRIBE per channel, each message dispatched to the local streams of its channel.
 */
export class ChannelHub {
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #subgraph: string;
  readonly #metrics: Metrics | undefined;
  readonly #log: Logger;
  /** Local streams per full channel name. */
  #wanted = new Map<string, Set<ChannelStream>>();
  /** Channels Redis has (or, after a failed UNSUBSCRIBE, will have again on reconnect) for us. */
  #actual = new Set<string>();
  /** Per channel, the last SUBSCRIBE/UNSUBSCRIBE in flight: commands of a channel run in order. */
  #ops = new Map<string, Promise<void>>();

  constructor(opts: { url: string; prefix: string; subgraph: string; log: Logger; metrics?: Metrics }) {
    this.#prefix = opts.prefix;
    this.#subgraph = opts.subgraph;
    this.#metrics = opts.metrics;
    this.#log = opts.log;
    this.#sub = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 5000,
      autoResubscribe: true,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.#sub.on('error', () => {
      // The connection reconnects (and re-subscribes) by itself; subscribes meanwhile fail fast.
    });
    this.#sub.on('message', (channel: string, message: string) => this.#dispatch(channel, message));
    this.#sub.on('ready', () => {
      // Channels whose UNSUBSCRIBE failed while Redis was away were re-subscribed (ioredis does
      // that on 'ready'): drop them, after it.
      setImmediate(() => {
        for (const channel of this.#actual) if (!this.#wanted.get(channel)?.size) void this.#sync(channel).catch(() => {});
      });
    });
  }

  /** The subscriber connection (tests and readiness). */
  get connection(): Redis {
    return this.#sub;
  }

  /** Local subscriptions right now. */
  get size(): number {
    let n = 0;
    for (const s of this.#wanted.values()) n += s.size;
    return n;
  }

  channelOf(stream: ChannelStream): string {
    return redisChannel(this.#prefix, this.#subgraph, stream.tenantId, stream.channel);
  }

  async add(stream: ChannelStream): Promise<void> {
    if (this.#sub.status !== 'ready') throw serviceUnavailable('Live updates');
    const channel = this.channelOf(stream);
    let set = this.#wanted.get(channel);
    if (!set) this.#wanted.set(channel, (set = new Set()));
    set.add(stream);
    try {
      await this.#sync(channel);
    } catch (err) {
      this.#drop(channel, stream);
      this.#log.warn({ err }, 'Redis SUBSCRIBE failed; answered SERVICE_UNAVAILABLE');
      throw serviceUnavailable('Live updates');
    }
  }

  async remove(stream: ChannelStream): Promise<void> {
    const channel = this.channelOf(stream);
    if (this.#drop(channel, stream)) await this.#sync(channel).catch(() => {});
  }

  /** Removes `stream`; true when its channel has no local stream left. */
  #drop(channel: string, stream: ChannelStream): boolean {
    const set = this.#wanted.get(channel);
    if (!set?.delete(stream)) return false;
    if (set.size) return false;
    this.#wanted.delete(channel);
    return true;
  }

  /** Brings Redis's subscription of `channel` to what the local streams want, after the channel's previous command. */
  #sync(channel: string): Promise<void> {
    const previous = this.#ops.get(channel) ?? Promise.resolve();
    const op = previous
      .catch(() => {})
      .then(async () => {
        const want = (this.#wanted.get(channel)?.size ?? 0) > 0;
        if (want && !this.#actual.has(channel)) {
          await this.#sub.subscribe(channel);
          this.#actual.add(channel);
        } else if (!want && this.#actual.has(channel)) {
          // A failed UNSUBSCRIBE leaves the channel in ioredis's set: it comes back on reconnect ('ready' drops it).
          await this.#sub.unsubscribe(channel);
          this.#actual.delete(channel);
        }
      });
    this.#ops.set(channel, op);
    void op
      .catch(() => {})
      .then(() => {
        if (this.#ops.get(channel) === op) this.#ops.delete(channel);
      });
    return op;
  }

  #dispatch(channel: string, message: string) {
    const set = this.#wanted.get(channel);
    if (!set?.size) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch (err) {
      this.#log.error({ err, channel }, 'a published event is not JSON; dropped');
      return;
    }
    for (const stream of set) {
      if (!stream.push(payload)) this.#metrics?.subscriptionEvents.inc({ outcome: 'dropped' });
    }
  }

  async close(): Promise<void> {
    for (const set of [...this.#wanted.values()]) for (const s of [...set]) await s.return();
    await Promise.allSettled([...this.#ops.values()]);
    if (this.#sub.status === 'ready') await this.#sub.quit().catch(() => this.#sub.disconnect());
    else this.#sub.disconnect();
  }
}

// ───────────────────────────── leases of direct subscribers ─────────────────────────────

/** Holds this process's leases of direct subscribers: renews them in one batch every ttl/3. */
export class LeaseKeeper {
  readonly handler: LeaseHandler;
  #ids = new Set<string>();
  #timer: NodeJS.Timeout;
  #renewing: Promise<void> | undefined;
  #log: Logger;

  constructor(handler: LeaseHandler, log: Logger) {
    this.handler = handler;
    this.#log = log;
    this.#timer = setInterval(() => {
      this.#renewing ??= this.renew().finally(() => (this.#renewing = undefined));
    }, Math.max(50, (handler.ttlSeconds * 1000) / 3));
    this.#timer.unref();
  }

  get size(): number {
    return this.#ids.size;
  }

  /** Starts renewing `id` (the lease was just started by the admission). */
  add(id: string) {
    this.#ids.add(id);
  }

  /** Renews every held lease now (the timer calls it). */
  async renew(): Promise<void> {
    if (!this.#ids.size) return;
    try {
      await this.handler.renew([...this.#ids]);
    } catch (err) {
      this.#log.warn({ err, leases: this.#ids.size }, 'renewing subscription leases failed; retrying at the next tick');
    }
  }

  async release(id: string): Promise<void> {
    if (!this.#ids.delete(id)) return;
    try {
      await this.handler.release([id]);
    } catch (err) {
      this.#log.warn({ err }, 'releasing a subscription lease failed; it expires by itself');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing;
    const ids = [...this.#ids];
    this.#ids.clear();
    if (ids.length) await this.handler.release(ids).catch((err: unknown) => this.#log.warn({ err }, 'releasing subscription leases at shutdown failed; they expire by themselves'));
  }
}

// ───────────────────────────── the host ─────────────────────────────

export interface SubscriptionHostOptions<Ctx extends SubscriptionContext> {
  name: string;
  schema: GraphQLSchema;
  log: Logger;
  metrics: Metrics;
  actors: ActorVerifier;
  /** The subgraph's service verifier (callers of the WebSocket and the leases route). */
  services: () => ServiceVerifier;
  /** A fresh context for `actor` (def.context over a base with a new unit of work; hub attached). */
  context(actor: Actor, requestId: string | null, log: Logger): Ctx;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  hub: ChannelHub | undefined;
  leases: LeaseHandler | undefined;
}

/** What the subgraph host (subgraph.ts) serves for subscriptions: the WebSocket, two routes, close(). */
export interface SubscriptionHost {
  /** Serves graphql-ws on `server`'s upgrades to /graphql. */
  attach(server: http.Server): void;
  routes: Route[];
  /** Direct leases held (tests). */
  keeper: LeaseKeeper | undefined;
  close(): Promise<void>;
}

interface Prepared {
  document: DocumentNode;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

/** One running WebSocket subscription (graphql-ws's contextValue for it). */
interface Operation {
  actor: Actor;
  requestId: string | null;
  stream: ChannelStream;
  leaseId: string | undefined;
  kind: 'direct' | 'shared';
  end(): Promise<void>;
}

const requestError = (message: string, code: string, from?: GraphQLError) =>
  new GraphQLError(message, { nodes: from?.nodes ?? null, source: from?.source ?? null, positions: from?.positions ?? null, extensions: { ...from?.extensions, code } });

const leasesBody = z.strictObject({
  renew: z.array(z.string().uuid()).max(LEASE_BATCH_LIMIT).default([]),
  release: z.array(z.string().uuid()).max(LEASE_BATCH_LIMIT).default([]),
});

export function createSubscriptionHost<Ctx extends SubscriptionContext>(o: SubscriptionHostOptions<Ctx>): SubscriptionHost {
  const { schema, log, metrics } = o;
  const keeper = o.leases ? new LeaseKeeper(o.leases, log) : undefined;
  const operations = new Set<Operation>();
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => o.formatError(e.toJSON(), e));
  let wss: WebSocketServer | undefined;
  let server: http.Server | undefined;
  let closing = false;

  /** Parses and validates a subscription document; errors carry request codes. */
  function prepare(query: unknown, variables: unknown, operationName: unknown): Prepared | GraphQLError[] {
    if (typeof query !== 'string' || query === '') return [requestError('A subscription needs a query document', 'BAD_REQUEST')];
    if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return [requestError('variables must be an object', 'BAD_REQUEST')];
    if (operationName != null && typeof operationName !== 'string') return [requestError('operationName must be a string', 'BAD_REQUEST')];
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (err) {
      return [requestError((err as Error).message, 'GRAPHQL_PARSE_FAILED', err instanceof GraphQLError ? err : undefined)];
    }
    const invalid = validate(schema, document);
    if (invalid.length) return invalid.map((e) => requestError(e.message, 'GRAPHQL_VALIDATION_FAILED', e));
    const operation = getOperationAST(document, (operationName as string | null | undefined) ?? undefined);
    if (!operation) return [requestError('Unable to identify the operation', 'BAD_REQUEST')];
    if (operation.operation !== 'subscription') return [requestError('Only subscription operations are served here', 'BAD_REQUEST')];
    return { document, operationName: (operationName as string | null | undefined) ?? undefined, variables: (variables as Record<string, unknown> | null | undefined) ?? undefined };
  }

  /** Runs the root field's admission in a fresh context; the caller commits or rolls back `ctx.uow`. */
  async function admitOne(actor: Actor, requestId: string | null, p: Prepared): Promise<{ ctx: Ctx; stream: ChannelStream } | { errors: GraphQLError[] }> {
    const ctx = o.context(actor, requestId, log);
    let source: AsyncIterable<unknown> | ExecutionResult;
    try {
      source = await createSourceEventStream({ schema, document: p.document, variableValues: p.variables, operationName: p.operationName, contextValue: ctx });
    } catch (err) {
      await ctx.uow.rollback();
      throw err;
    }
    if (!(source instanceof ChannelStream)) {
      await ctx.uow.rollback();
      if ('errors' in source && source.errors?.length) {
        // Errors without a resolver behind them are the request's (variables that do not coerce).
        return { errors: source.errors.map((e) => (e.originalError || e.extensions?.code ? e : requestError(e.message, 'BAD_USER_INPUT', e))) };
      }
      await (source as AsyncIterator<unknown>).return?.();
      throw new Error('a subscription field must be defined with subscriptionField() (kernel subscriptions.ts)');
    }
    return { ctx, stream: source };
  }

  /** A lease id when the admission asks for one and this subgraph has a lease handler. */
  function wantsLease(stream: ChannelStream): boolean {
    if (!stream.admission.lease) return false;
    if (!o.leases) {
      log.error({ channel: stream.channel }, 'an admission asks for a lease but the subgraph defines no `leases` handler; no lease started');
      return false;
    }
    return true;
  }

  // POST /subscriptions/admit
  const admitRoute: Route = async (req, res, url, info) => {
    if (url.pathname !== ADMIT_PATH) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, graphqlErrorBody('POST only', 'METHOD_NOT_ALLOWED'), { allow: 'POST' });
      return true;
    }
    const header = req.headers[ACTOR_HEADER];
    const actor = await o.actors.verify(typeof header === 'string' ? header : null);
    if (!actor) throw new HttpError(401, 'UNAUTHENTICATED', 'Missing or invalid actor context: this subgraph answers only the Lectern gateway');
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(await readBody(req, DEFAULT_BODY_LIMIT)) as typeof body;
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'BAD_REQUEST', 'Request body is not a JSON object');
    }
    const prepared = prepare(body.query, body.variables, body.operationName);
    if (Array.isArray(prepared)) return answerErrors(res, prepared);
    const admitted = await admitOne(actor, actor.requestId ?? info.requestId, prepared);
    if ('errors' in admitted) return answerErrors(res, admitted.errors);
    const { ctx, stream } = admitted;
    await stream.return(); // never subscribed: the admission is all the gateway asked for
    let lease: { id: string; ttlSeconds: number } | null = null;
    try {
      if (wantsLease(stream)) {
        const id = randomUUID();
        await stream.admission.lease!(id);
        lease = { id, ttlSeconds: o.leases!.ttlSeconds };
      }
      await ctx.uow.commit();
    } catch (err) {
      await ctx.uow.rollback();
      return answerErrors(res, [asGraphQLError(err)]);
    }
    sendJson(res, 200, { channel: stream.channel, lease, personal: stream.admission.personal === true });
    return true;
  };

  function answerErrors(res: http.ServerResponse, errors: readonly GraphQLError[]): true {
    sendJson(res, 200, { errors: format(errors) });
    return true;
  }

  // POST /subscriptions/leases (the gateway renews and releases its clients' leases)
  const leasesRoute: Route = async (req, res, url, info) => {
    if (url.pathname !== LEASES_PATH) return false;
    const header = req.headers[SERVICE_HEADER];
    const caller = o.services().verify(typeof header === 'string' ? header : null);
    if (req.method !== 'POST' || !caller || caller.service !== 'gateway' || caller.tenantId !== null) {
      sendJson(res, 401, { error: 'internal endpoint: the Lectern gateway only (service token without tenant)' });
      return true;
    }
    if (!o.leases) {
      sendJson(res, 404, { error: `the ${o.name} subgraph holds no leases` });
      return true;
    }
    let parsed: ReturnType<typeof leasesBody.safeParse>;
    try {
      // 2 × 20,000 uuids as JSON strings: ~1.6 MB.
      parsed = leasesBody.safeParse(JSON.parse(await readBody(req, 2 * DEFAULT_BODY_LIMIT)));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      sendJson(res, 400, { error: 'body is not valid JSON' });
      return true;
    }
    if (!parsed.success) {
      sendJson(res, 400, { error: parsed.error.issues[0]?.message ?? 'invalid request' });
      return true;
    }
    let unknown: string[] = [];
    try {
      if (parsed.data.renew.length) unknown = (await o.leases.renew(parsed.data.renew)) ?? [];
      if (parsed.data.release.length) await o.leases.release(parsed.data.release);
    } catch (err) {
      info.log.warn({ err }, 'lease renewal failed');
      sendJson(res, 503, { error: 'leases are unavailable right now; retry' });
      return true;
    }
    sendJson(res, 200, { unknown });
    return true;
  };

  /** The events of one admitted subscription, each executed in a fresh context. */
  function events(op: Operation, args: ExecutionArgs): AsyncIterableIterator<ExecutionResult> {
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]: () => iterator,
      async next() {
        for (;;) {
          const r = await op.stream.next();
          if (r.done) {
            await op.end();
            return { value: undefined, done: true };
          }
          const ctx = o.context(op.actor, op.requestId, log);
          let result: ExecutionResult;
          try {
            result = await execute({ ...args, rootValue: r.value, contextValue: ctx });
            await ctx.uow.commit();
          } catch (err) {
            await ctx.uow.rollback();
            throw err;
          }
          if (result.errors?.some((e) => e.originalError instanceof SkipEvent)) {
            metrics.subscriptionEvents.inc({ outcome: 'skipped' });
            continue;
          }
          metrics.subscriptionEvents.inc({ outcome: 'delivered' });
          return { value: result, done: false };
        }
      },
      async return() {
        await op.end();
        return { value: undefined, done: true };
      },
      async throw(err?: unknown) {
        await op.end();
        throw err;
      },
    };
    return iterator;
  }

  function makeOperation(actor: Actor, requestId: string | null, stream: ChannelStream, kind: 'direct' | 'shared'): Operation {
    let ended: Promise<void> | undefined;
    const op: Operation = {
      actor,
      requestId,
      stream,
      kind,
      leaseId: undefined,
      end() {
        ended ??= (async () => {
          operations.delete(op);
          metrics.subscriptionsActive.dec({ kind });
          await stream.return();
          if (op.leaseId) await keeper?.release(op.leaseId);
        })();
        return ended;
      },
    };
    operations.add(op);
    metrics.subscriptionsActive.inc({ kind });
    return op;
  }

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/graphql' || closing || !wss) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss!.emit('connection', ws, req));
  };

  return {
    routes: [admitRoute, leasesRoute],
    keeper,
    attach(httpServer) {
      server = httpServer;
      wss = new WebSocketServer({ noServer: true, maxPayload: DEFAULT_BODY_LIMIT });
      useServer<{ service?: unknown }, { socket: WebSocket; request: http.IncomingMessage }>(
        {
          schema,
          onConnect(ctx) {
            const token = ctx.connectionParams?.service;
            const caller = o.services().verify(typeof token === 'string' ? token : null);
            return caller !== null && caller.service === 'gateway' && caller.tenantId === null;
          },
          async onSubscribe(_ctx, _id, payload) {
            try {
              const token = payload.extensions?.actor;
              const actor = await o.actors.verify(typeof token === 'string' ? token : null);
              if (!actor) return [asGraphQLError(unauthenticated('Missing or invalid actor context (extensions.actor)'))];
              const prepared = prepare(payload.query, payload.variables, payload.operationName);
              if (Array.isArray(prepared)) return prepared;
              const admitted = await admitOne(actor, actor.requestId, prepared);
              if ('errors' in admitted) return admitted.errors;
              const { ctx, stream } = admitted;
              const shared = payload.extensions?.shared === true;
              const op = makeOperation(actor, actor.requestId, stream, shared ? 'shared' : 'direct');
              try {
                await stream.open(); // subscribed before the lease starts: the subscriber hears its own join
                if (!shared && wantsLease(stream)) {
                  const id = randomUUID();
                  await stream.admission.lease!(id);
                  op.leaseId = id;
                  keeper!.add(id);
                }
                await ctx.uow.commit();
              } catch (err) {
                await ctx.uow.rollback();
                await op.end();
                return [asGraphQLError(err)];
              }
              if (closing) {
                await op.end();
                return [asGraphQLError(serviceUnavailable('This subgraph (shutting down)'))];
              }
              return { schema, document: prepared.document, operationName: prepared.operationName, variableValues: prepared.variables, contextValue: op };
            } catch (err) {
              return [asGraphQLError(err)];
            }
          },
          subscribe: (args) => events(args.contextValue as Operation, args),
          // Only subscriptions reach here (onSubscribe refuses the rest).
          execute: () => ({ errors: [requestError('Only subscription operations are served here', 'BAD_REQUEST')] }),
          onNext(_ctx, _id, _payload, _args, result) {
            return result.errors ? { ...result, errors: format(result.errors as GraphQLError[]) } : undefined;
          },
          onError(_ctx, _id, _payload, errors) {
            return format(errors);
          },
        },
        wss,
      );
      server.on('upgrade', onUpgrade);
    },
    async close() {
      closing = true;
      server?.off('upgrade', onUpgrade);
      if (wss) {
        const sockets = [...wss.clients];
        await Promise.all(
          sockets.map(
            (ws) =>
              new Promise<void>((resolve) => {
                if (ws.readyState === ws.CLOSED) return resolve();
                const timer = setTimeout(() => ws.terminate(), 1000);
                ws.once('close', () => {
                  clearTimeout(timer);
                  resolve();
                });
                ws.close(GOING_AWAY, 'Going away');
              }),
          ),
        );
      }
      await Promise.all([...operations].map((op) => op.end()));
      if (wss) {
        const w = wss;
        w.removeAllListeners();
        await new Promise<void>((resolve) => w.close(() => resolve()));
      }
      await keeper?.stop();
      await o.hub?.close();
    },
  };
}

/** An error for graphql-ws's error message: GraphQL errors as they are, others wrapped (the formatter decides what shows). */
function asGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  // An AppError of the other graphql instance (see `graphql` above) keeps its code.
  const extensions = (e as { extensions?: Record<string, unknown> }).extensions;
  return new GraphQLError(e.message, { originalError: e, ...(extensions ? { extensions } : {}) });
}
