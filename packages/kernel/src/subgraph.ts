// Builds and hosts one subgraph: schema, ORM as the subgraph's runtime role, Redis,
// actor verification on every GraphQL request, a unit of work per request, readiness.
//
// Redis outages: `deps.redis` is the fail-fast client of redis.ts (no offline queue, one retry,
// 5 s command timeout), so a resolver that needs Redis fails at once while it is down, and the
// formatter (errors.ts makeFormatError) answers SERVICE_UNAVAILABLE with retryAfterSeconds,
// not INTERNAL_SERVER_ERROR. /readyz answers 503 with `"redis": "down"` meanwhile; the client
// reconnects by itself and the subgraph is ready again as soon as Redis answers.
//
// Subscriptions (subscriptions.ts): the same HTTP server serves graphql-ws on upgrades to
// /graphql, `POST /subscriptions/admit` and `POST /subscriptions/leases`; a schema with a
// Subscription type gets one Redis subscriber connection per process.
//
// Tracing (tracing.ts): runSubgraph starts it (on only when the OTEL_* variables ask) and flushes
// it last on shutdown. Each operation then runs in a `graphql.operation <name>` span (http.ts
// starts it; `operationTracing` below names and describes it) under the request's SERVER span.
import { randomUUID } from 'node:crypto';
import type { DocumentNode } from 'graphql';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { ACTOR_HEADER, ActorVerifier, type Actor } from './actor.ts';
import { connectionString, explainDatabaseError, migrate, pendingMigrations, type Migration } from './db.ts';
import { requireKey, DEV_ACTOR_PUBLIC_KEY } from './dev-keys.ts';
import type { BaseEnv, DatabaseEnv } from './env.ts';
import { makeFormatError } from './errors.ts';
import { createHttpHost, HttpError, installShutdown, type HttpHost, type Route } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createOrm, type AnyEntitySchema, type MikroORM } from './orm.ts';
import { createRedis, redisReadiness, waitForRedis, type Redis } from './redis.ts';
import { serviceVerifier, type ServiceVerifier } from './service-auth.ts';
import { attachHub, ChannelHub, createSubscriptionHost, publisher, type LeaseHandler, type Publish, type SubscriptionHost } from './subscriptions.ts';
import { UnitOfWork } from './uow.ts';
import { activeSpan, isTracing, SpanStatusCode, startTracing } from './tracing.ts';

export interface SubgraphContext {
  actor: Actor;
  uow: UnitOfWork;
  log: Logger;
  requestId: string;
}

export interface SubgraphDeps<Env> {
  name: string;
  env: Env;
  orm: MikroORM;
  redis: Redis;
  log: Logger;
  metrics: Metrics;
  /** SQL statements sent by this process (the N+1 tests compare it across requests). */
  stats: { statements: number };
  /**
   * Verifies other services' credentials on this subgraph's internal endpoints
   * (service-auth.ts). Built on first call, so only subgraphs that serve internal endpoints
   * need SERVICE_VERIFY_KEYS (their `routes` call it at start: a missing key fails the start).
   */
  serviceVerifier(): ServiceVerifier;
  /**
   * Publishes an event on a tenant's channel of this subgraph, for its subscriptions
   * (subscriptions.ts; call it after the commit that made the change).
   */
  publish: Publish;
}

/**
 * One subgraph as the kernel hosts it. `Runtime` holds its process-wide pieces (clients of
 * other contexts, queues, key material, Redis helpers): `runtime` builds them once, after the
 * ORM and Redis are up and before listening; `context`, `routes` and `close` receive them.
 * A subgraph without any leaves `Runtime` as `void` and omits `runtime`.
 */
export interface SubgraphDefinition<Env extends SubgraphEnv, Ctx extends SubgraphContext, Runtime = void> {
  /** Its schema's name and, for service credentials, its service name (service-auth.ts). */
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<Ctx>;
  entities: AnyEntitySchema[];
  migrations: Migration[];
  /** Builds the process-wide pieces once, before listening. */
  runtime?(deps: SubgraphDeps<Env>): Promise<Runtime> | Runtime;
  /** Adds per-request services and DataLoaders to the base context. */
  context(base: SubgraphContext, deps: SubgraphDeps<Env>, runtime: Runtime): Ctx;
  routes?(deps: SubgraphDeps<Env>, runtime: Runtime): Route[];
  /**
   * Whether its routes' client address (RequestInfo.ip) is X-Forwarded-For's first entry: for
   * public routes reached through an ingress that replaces that header (the GraphQL endpoint
   * answers the gateway only, whose actor carries the client's address). Default: no.
   */
  trustProxy?(env: Env): boolean;
  /**
   * Whether what this actor is answered may be shared with others of the same organization and
   * visibility (roles, scopes) in the gateway's response cache: 'PRIVATE' when it depends on who
   * they are (catalog: an author sees the drafts of the courses they author). The cache hints of
   * the schema (@cacheControl) decide what is cacheable at all; this only narrows its scope.
   */
  cacheScope?(actor: Actor): 'PRIVATE' | 'PUBLIC';
  /** The leases its subscriptions' admissions start (presence): renewed and released by the kernel and the gateway. */
  leases?(deps: SubgraphDeps<Env>, runtime: Runtime): LeaseHandler;
  /**
   * The subgraph's own readiness checks, reported by /readyz beside the kernel's (database,
   * redis): each resolves when that piece works, or throws a short reason (e.g. object storage).
   */
  readiness?(deps: SubgraphDeps<Env>, runtime: Runtime): Record<string, () => Promise<void>>;
  /** Releases what `runtime` built (after the HTTP host stopped, before Redis and the ORM). */
  close?(deps: SubgraphDeps<Env>, runtime: Runtime): Promise<void>;
}

export type SubgraphEnv = BaseEnv & DatabaseEnv & { PORT: number };

/**
 * A subgraph's resolvers from its modules' maps (`{ Query: {...}, Course: {...} }` each, and
 * scalars): every type's fields from every module in one map, so a type a module defines is
 * never left out. A field two modules both define is a mistake, refused at start.
 */
export function mergeResolvers<R extends object>(...parts: Partial<R>[]): R {
  const out: Record<string, unknown> = {};
  const fieldMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
  for (const part of parts) {
    for (const [type, fields] of Object.entries(part)) {
      const before = out[type];
      if (before === undefined) {
        out[type] = fields;
        continue;
      }
      if (!fieldMap(before) || !fieldMap(fields)) throw new Error(`resolvers: ${type} is defined twice`);
      const twice = Object.keys(fields).find((f) => f in before);
      if (twice) throw new Error(`resolvers: ${type}.${twice} is defined twice`);
      out[type] = { ...before, ...fields };
    }
  }
  return out as R;
}

export interface RunningSubgraph<Env, Runtime = unknown> {
  url: string;
  deps: SubgraphDeps<Env>;
  runtime: Runtime;
  http: HttpHost;
  subscriptions: SubscriptionHost;
  close(): Promise<void>;
}

export async function startSubgraph<Env extends SubgraphEnv, Ctx extends SubgraphContext, Runtime = void>(
  def: SubgraphDefinition<Env, Ctx, Runtime>,
  env: Env,
  opts: { port?: number; log?: Logger } = {},
): Promise<RunningSubgraph<Env, Runtime>> {
  const log = opts.log ?? createLogger(def.name, env.LOG_LEVEL);
  const metrics = createMetrics(def.name);
  const stats = { statements: 0 };
  if (env.MIGRATE_ON_START) {
    await migrate({
      ownerUrl: connectionString(env.DATABASE_URL, { user: env.DATABASE_OWNER_USER, password: env.DATABASE_OWNER_PASSWORD }),
      schema: def.name,
      migrations: def.migrations,
      log,
    });
  }
  const orm = await createOrm({
    databaseUrl: env.DATABASE_URL,
    schema: def.name,
    entities: def.entities,
    password: env.DATABASE_PASSWORD,
    poolMax: env.DATABASE_POOL_MAX,
    onStatement: () => {
      stats.statements++;
      metrics.sqlStatements.inc();
    },
  });
  // MikroORM connects lazily: find out now, and say what to do, rather than at the first request.
  try {
    await orm.em.fork().execute('select 1');
  } catch (err) {
    await orm.close().catch(() => {});
    throw new Error(explainDatabaseError(err, env.DATABASE_URL), { cause: err });
  }
  const redis = createRedis(env.REDIS_URL, { keyPrefix: env.REDIS_PREFIX });
  let services: ServiceVerifier | undefined;
  const deps: SubgraphDeps<Env> = {
    name: def.name, env, orm, redis, log, metrics, stats,
    serviceVerifier: () => (services ??= serviceVerifier(def.name, env)),
    publish: publisher(redis, def.name, env.REDIS_PREFIX, metrics),
  };
  let runtime: Runtime;
  try {
    await waitForRedis(redis, env.REDIS_URL);
    // Without a `runtime` builder, Runtime is void.
    runtime = (await def.runtime?.(deps)) as Runtime;
  } catch (err) {
    redis.disconnect();
    await orm.close();
    throw err;
  }
  const verifier = await ActorVerifier.fromJwk(requireKey(env.ACTOR_VERIFY_KEY, DEV_ACTOR_PUBLIC_KEY, 'ACTOR_VERIFY_KEY', env.NODE_ENV));

  const operationMetrics: ApolloServerPlugin<Ctx> = {
    async requestDidStart() {
      return {
        async willSendResponse({ response, operation }) {
          const failed = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.graphqlOperations.inc({ type: operation?.operation ?? 'unknown', outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };
  // A caller whose answers depend on who they are gets PRIVATE cache hints (SubgraphDefinition.cacheScope).
  // After execution, before Apollo's cache-control plugin (added after ours) writes the header: a
  // policy restricted before execution would make that plugin stop tracking the hints.
  const cacheScope: ApolloServerPlugin<Ctx> = {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, overallCachePolicy }) {
          if (def.cacheScope?.(contextValue.actor) === 'PRIVATE') overallCachePolicy.restrict({ scope: 'PRIVATE' });
        },
      };
    },
  };
  // The operation's span (http.ts operationSpan): its name, type, and whether it failed unexpectedly.
  const operationTracing: ApolloServerPlugin<Ctx> = {
    async requestDidStart() {
      const span = activeSpan();
      if (!span) return;
      return {
        async didResolveOperation({ operationName, operation }) {
          const type = operation?.operation ?? 'query';
          span.updateName(`graphql.operation ${operationName ?? type}`);
          span.setAttribute('graphql.operation.type', type);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async didEncounterErrors({ errors }) {
          // Clients' mistakes and expected refusals carry a code; anything else is a failure.
          const unexpected = errors.find((e) => !e.extensions?.code || e.extensions.code === 'INTERNAL_SERVER_ERROR');
          if (unexpected) span.setStatus({ code: SpanStatusCode.ERROR, message: unexpected.message.slice(0, 300) });
        },
      };
    },
  };
  const schema = buildSubgraphSchema({ typeDefs: def.typeDefs, resolvers: def.resolvers as GraphQLResolverMap<unknown> });
  const formatError = makeFormatError(log);
  // Only a schema with subscriptions needs the subscriber connection (and the gateway's key).
  let hub: ChannelHub | undefined;
  if (schema.getSubscriptionType()) {
    try {
      deps.serviceVerifier(); // the gateway's key: a missing one fails the start, not the first subscribe
      hub = new ChannelHub({ url: env.REDIS_URL, prefix: env.REDIS_PREFIX, subgraph: def.name, log, metrics });
      await waitForRedis(hub.connection, env.REDIS_URL);
    } catch (err) {
      await hub?.close();
      await def.close?.(deps, runtime);
      redis.disconnect();
      await orm.close();
      throw err;
    }
  }
  const contextFor = (actor: Actor, requestId: string, reqLog: Logger): Ctx => {
    const base: SubgraphContext = {
      actor,
      uow: new UnitOfWork(orm, actor.tenantId),
      log: reqLog.child({ actor: actor.userId ?? actor.kind, tenantId: actor.tenantId }),
      requestId,
    };
    attachHub(base.uow, hub);
    return def.context(base, deps, runtime);
  };
  const subscriptions = createSubscriptionHost<Ctx>({
    name: def.name,
    schema,
    log,
    metrics,
    actors: verifier,
    services: () => deps.serviceVerifier(),
    context: (actor, requestId, reqLog) => contextFor(actor, requestId ?? randomUUID(), reqLog),
    formatError,
    hub,
    leases: def.leases?.(deps, runtime),
  });

  const apollo = new ApolloServer<Ctx>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Subgraphs sit behind the gateway and answer only it; CSRF applies to browsers at the gateway.
    csrfPrevention: false,
    introspection: true,
    plugins: [operationMetrics, ...(def.cacheScope ? [cacheScope] : []), ...(isTracing() ? [operationTracing] : [])],
    logger: { debug: () => {}, info: () => {}, warn: (m) => log.warn(m), error: (m) => log.error(m) },
  });
  await apollo.start();

  const host = createHttpHost<Ctx>({
    log,
    metrics,
    routes: [...subscriptions.routes, ...(def.routes?.(deps, runtime) ?? [])],
    trustProxy: def.trustProxy?.(env) ?? false,
    graphql: {
      path: '/graphql',
      apollo,
      async context(req, info) {
        const header = req.headers[ACTOR_HEADER];
        const actor = await verifier.verify(typeof header === 'string' ? header : null);
        if (!actor) {
          throw new HttpError(401, 'UNAUTHENTICATED', 'Missing or invalid actor context: this subgraph answers only the Lectern gateway');
        }
        return contextFor(actor, actor.requestId ?? info.requestId, info.log);
      },
      finish: (ctx) => ctx.uow.commit(),
      abort: (ctx) => ctx.uow.rollback(),
      operationSpan: true,
    },
    readiness: {
      database: async () => {
        const em = orm.em.fork();
        const pending = await pendingMigrations((sql) => em.execute(sql), def.name, def.migrations);
        if (pending.length) throw new Error(`migrations pending: ${pending.join(', ')}`);
      },
      redis: redisReadiness(redis),
      ...def.readiness?.(deps, runtime),
    },
  });
  subscriptions.attach(host.server);
  const url = await host.listen(opts.port ?? env.PORT, env.HOST);
  log.info({ url: `${url}/graphql` }, `${def.name} subgraph listening`);
  let closed = false;
  return {
    url: `${url}/graphql`,
    deps,
    runtime,
    http: host,
    subscriptions,
    async close() {
      if (closed) return;
      closed = true;
      // WebSockets first: the HTTP server's close waits for upgraded sockets too.
      await subscriptions.close();
      await host.close();
      await apollo.stop();
      await def.close?.(deps, runtime);
      redis.disconnect();
      await orm.close();
    },
  };
}

/** Entry point helper for `main.ts`: start, log a one-line reason on failure, stop on SIGTERM. */
export async function runSubgraph<Env extends SubgraphEnv, Ctx extends SubgraphContext, Runtime = void>(def: SubgraphDefinition<Env, Ctx, Runtime>, env: Env) {
  const log = createLogger(def.name, env.LOG_LEVEL);
  try {
    const tracing = await startTracing(def.name, undefined, { log });
    const running = await startSubgraph(def, env, { log });
    installShutdown(log, [() => running.close(), () => tracing.shutdown()], env.SHUTDOWN_GRACE_MS);
  } catch (err) {
    log.fatal({ err }, `${def.name} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}
