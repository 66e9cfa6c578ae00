// Test kit: a real PostgreSQL database and a private Redis key prefix per test file,
// signed actor contexts, and a small GraphQL client. No mocks of PostgreSQL or Redis.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import pg from 'pg';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { SERVICE_HEADER, serviceCredential, type ServiceName } from '@lectern/kernel/service-auth';
import { ActorSigner, type Actor, type Role } from '@lectern/kernel/actor';
import { bootstrapDatabase, connectionString, migrate, withClient, type Migration } from '@lectern/kernel/db';
import { DEV_ACTOR_PRIVATE_KEY } from '@lectern/kernel/dev-keys';

import { testEnv } from './env.ts';

export const ADMIN_URL = testEnv.DATABASE_ADMIN_URL;
export const SERVER_URL = testEnv.TEST_DATABASE_SERVER;
/** Every subgraph of the supergraph gets its schema and role in every test database (roles are cluster-wide). */
export const SUBGRAPHS: string[] = Object.keys(
  (JSON.parse(readFileSync(new URL('../../../schema/supergraph.config.json', import.meta.url), 'utf8')) as { subgraphs: Record<string, unknown> }).subgraphs,
);

export interface TestDatabase {
  name: string;
  /** DATABASE_URL for processes under test (no user: each subgraph connects as its role). */
  url: string;
  ownerUrl: string;
  /** Superuser connection (bypasses RLS): for assertions that must see everything. */
  adminUrl: string;
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** Creates a fresh database with every subgraph's schema migrated; drop() removes it. */
export async function createTestDatabase(migrations: Record<string, Migration[]>, label = 'db'): Promise<TestDatabase> {
  const name = `lectern_test_${label.replace(/[^a-z0-9]/g, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  await bootstrapDatabase({ adminUrl: ADMIN_URL, database: name, subgraphs: SUBGRAPHS.map((s) => ({ name: s })) });
  const ownerUrl = connectionString(SERVER_URL, { user: 'lectern_owner', database: name });
  for (const [schema, list] of Object.entries(migrations)) await migrate({ ownerUrl, schema, migrations: list });
  const url = connectionString(SERVER_URL, { database: name });
  const prefix = `lectern:test:${name}:`;
  return {
    name,
    url,
    ownerUrl,
    adminUrl: connectionString(ADMIN_URL, { database: name }),
    env: { DATABASE_URL: url, REDIS_PREFIX: prefix, LOG_LEVEL: testEnv.TEST_LOG_LEVEL, PORT: '0', NODE_ENV: 'test' },
    async drop() {
      await withClient(ADMIN_URL, async (c) => {
        await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [name]);
        await c.query(`DROP DATABASE IF EXISTS "${name}"`);
      });
    },
  };
}

/**
 * A pg pool as the superuser on the test database (sees through RLS). drop() terminates its
 * idle connections on purpose: that error is expected, not a failure.
 */
export const adminPool = (db: TestDatabase, max = 2) => new pg.Pool({ connectionString: db.adminUrl, max }).on('error', () => {});

let signer: Promise<ActorSigner> | undefined;

export function actor(partial: Partial<Actor> & { tenantId?: string | null; roles?: Role[] } = {}): Actor {
  return {
    kind: 'user',
    userId: randomUUID(),
    tenantId: null,
    roles: [],
    superAdmin: false,
    scopes: [],
    apiKeyId: null,
    ip: '127.0.0.1',
    requestId: null,
    ...partial,
  };
}

/** A gateway-signed actor context, as the gateway would send it (development key). */
export async function actorHeader(a: Actor): Promise<string> {
  signer ??= ActorSigner.fromJwk(DEV_ACTOR_PRIVATE_KEY);
  return (await signer).sign(a);
}

/**
 * Headers of an internal-endpoint call as Lectern service `caller` makes it to `audience`
 * for `tenantId` (the development service keys, as every process has them outside production).
 */
export function serviceHeaders(caller: ServiceName, audience: ServiceName, tenantId: string | null): Record<string, string> {
  return { [SERVICE_HEADER]: serviceCredential(caller, { NODE_ENV: 'test' }).token(audience, tenantId) };
}

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  body: string;
}

/** POSTs a GraphQL operation; `actor` signs a context (straight at a subgraph), `token` sends a bearer (gateway). */
// Tests read deep into ad-hoc responses; typed operations live in e2e/ (codegen).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { actor?: Actor; token?: string; headers?: Record<string, string> } = {},
): Promise<GqlResult<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.actor) headers['x-lectern-actor'] = await actorHeader(opts.actor);
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await res.text();
  let parsed: { data?: T; errors?: GqlResult['errors'] } = {};
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON: the caller asserts on status and body
  }
  return { status: res.status, data: parsed.data, errors: parsed.errors, body };
}

// Tests read deep into ad-hoc responses.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Data = any;

/** Runs an operation straight at a subgraph (`target.url`) as `who` and returns the raw result. */
export function call<T = Data>(target: { url: string }, who: Actor, query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  return gql<T>(target.url, query, variables, { actor: who });
}

/** Runs an operation like `call` and fails the test on any GraphQL error. */
export async function ok<T = Data>(target: { url: string }, who: Actor, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await call<T>(target, who, query, variables);
  if (r.errors?.length || !r.data) throw new Error(`unexpected errors: ${r.body}`);
  return r.data;
}

/** The first error's `extensions.code`. */
export const errorCode = (r: GqlResult) => r.errors?.[0]?.extensions?.code;

/** A unique idempotency key. */
export const idem = () => `k-${randomUUID()}`;

/**
 * Polls `probe` until `done` accepts what it returns, and returns that; fails after
 * `timeoutMs` with the last value. For a state a test observes (a row, a log line, an empty
 * buffer), never to give another request time to get somewhere.
 */
export async function until<T>(probe: () => T | Promise<T>): Promise<NonNullable<T>>;
export async function until<T>(probe: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs?: number): Promise<T>;
export async function until<T>(probe: () => T | Promise<T>, done: (v: T) => boolean = Boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The part of a BullMQ queue `settled` uses. */
interface JobSource<J extends { getState(): Promise<string> }> {
  getJob(id: string): Promise<J | undefined>;
}

/** Waits until BullMQ has finished the job `jobId` (completed or failed); returns its state and the job. */
export async function settled<J extends { getState(): Promise<string> }>(queue: JobSource<J>, jobId: string, timeoutMs = 20_000): Promise<{ state: string; job: J }> {
  const job = (await until(() => queue.getJob(jobId), (j) => j !== undefined, timeoutMs))!;
  const state = await until(() => job.getState(), (s) => s === 'completed' || s === 'failed', timeoutMs);
  return { state, job: (await queue.getJob(jobId))! };
}

/** One message a subgraph subscription received: a `next` result, or the `error` message's errors. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface SubscriptionResult<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface SubgraphSubscription {
  /** The next result received (queued), `{ errors }` for an error message; fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SubscriptionResult>;
  /** Results received and not taken yet. */
  readonly pending: number;
  /** Resolves when the subscription ends: completed, an error message, or the socket closed (its code). */
  ended: Promise<{ completed: true } | { errors: SubscriptionResult['errors'] } | { closeCode: number; reason: string }>;
  /** Completes the subscription and closes the socket. */
  close(): Promise<void>;
}

/**
 * Subscribes straight at a subgraph's graphql-ws endpoint (`url`: its http(s) /graphql URL) as
 * the gateway does: the gateway's development service token for `service` (the subgraph's name)
 * in connectionParams, `who`'s signed actor in `extensions.actor`, and `extensions.shared` when
 * `opts.shared` (a gateway's shared upstream: no lease). `opts.serviceToken` replaces the token.
 */
export async function subscribeSubgraph(
  url: string,
  who: Actor,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { service: ServiceName; shared?: boolean; serviceToken?: string; actorToken?: string },
): Promise<SubgraphSubscription> {
  const token = opts.serviceToken ?? serviceCredential('gateway', { NODE_ENV: 'test' }).token(opts.service, null);
  const extensions: Record<string, unknown> = { actor: opts.actorToken ?? (await actorHeader(who)) };
  if (opts.shared) extensions.shared = true;
  return wsSubscription(url, { service: token }, { query, variables, extensions });
}

/**
 * Subscribes through the gateway (`url`: its http(s) /graphql URL) as a client app does: its
 * own graphql-ws socket, authenticated by `token` (an access token or API key) at connection_init.
 */
export function subscribeGateway(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<SubgraphSubscription> {
  return wsSubscription(url, token ? { authorization: `Bearer ${token}` } : {}, { query, variables });
}

/** One graphql-ws socket carrying one subscription, read as a queue (subscribeSubgraph, subscribeGateway). */
async function wsSubscription(url: string, connectionParams: Record<string, unknown>, payload: { query: string; variables: Record<string, unknown>; extensions?: Record<string, unknown> }): Promise<SubgraphSubscription> {
  let closeCode: { closeCode: number; reason: string } | undefined;
  const client: Client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: true,
    retryAttempts: 0,
    shouldRetry: () => false,
    on: {
      closed: (event) => {
        const e = event as { code?: number; reason?: string };
        closeCode = { closeCode: e.code ?? 0, reason: String(e.reason ?? '') };
      },
    },
  });
  const queue: SubscriptionResult[] = [];
  const waiters: ((r: SubscriptionResult) => void)[] = [];
  const deliver = (r: SubscriptionResult) => {
    const w = waiters.shift();
    if (w) w(r);
    else queue.push(r);
  };
  let resolveEnded!: SubgraphSubscription['ended'] extends Promise<infer E> ? (e: E) => void : never;
  const ended: SubgraphSubscription['ended'] = new Promise((r) => (resolveEnded = r));
  const unsubscribe = client.subscribe(payload, {
    next: (value) => deliver(value as SubscriptionResult),
    error: (err: unknown) => {
      if (Array.isArray(err)) {
        const errors = err as SubscriptionResult['errors'];
        deliver({ errors });
        resolveEnded({ errors });
        return;
      }
      const e = err as { code?: number; reason?: string };
      const closed = closeCode ?? { closeCode: e.code ?? 0, reason: String(e.reason ?? (err as Error).message ?? '') };
      resolveEnded(closed);
    },
    complete: () => resolveEnded(closeCode ?? { completed: true }),
  });
  return {
    get pending() {
      return queue.length;
    },
    ended,
    next(timeoutMs = 10_000) {
      const r = queue.shift();
      if (r) return Promise.resolve(r);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(done), 1);
          reject(new Error(`no subscription result in ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (v: SubscriptionResult) => {
          clearTimeout(timer);
          resolve(v);
        };
        waiters.push(done);
      });
    },
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

/**
 * POSTs a subscription document to a subgraph's `/subscriptions/admit` (`url`: its /graphql URL)
 * as the gateway does, with `who`'s signed actor (none when `who` is null).
 */
export async function admit(
  url: string,
  who: Actor | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; channel?: string; lease?: { id: string; ttlSeconds: number } | null; errors?: GqlResult['errors']; body: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (who) headers['x-lectern-actor'] = await actorHeader(who);
  const res = await fetch(url.replace(/\/graphql$/, '/subscriptions/admit'), { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    // not JSON: the caller asserts on status and body
  }
  return { status: res.status, ...(parsed as object), body };
}

/**
 * Deletes every key under a test's private `prefix` (its REDIS_PREFIX: queues, streams, caches)
 * and disconnects `redis`: a test file's Redis clean-up. `redis` must not use a keyPrefix.
 */
export async function dropRedisKeys(redis: { keys(pattern: string): Promise<string[]>; del(...keys: string[]): Promise<number>; disconnect(): void }, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
}

/** A TCP port free on 127.0.0.1 right now (for a process the test spawns). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
