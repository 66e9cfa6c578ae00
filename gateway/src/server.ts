// The gateway: one public endpoint composing every subgraph. It authenticates the caller,
// signs the actor context subgraphs trust, enforces operation limits, and never forwards
// client headers (a client's tenant header reaches no subgraph).
import { readFileSync } from 'node:fs';
import { ApolloGateway, type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError, Kind, parse, type ValidationRule } from 'graphql';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ACTOR_HEADER, ActorSigner, type Actor } from '@lectern/kernel/actor';
import { DEV_ACTOR_PRIVATE_KEY, requireKey } from '@lectern/kernel/dev-keys';
import { serviceCredential } from '@lectern/kernel/service-auth';
import { makeFormatError } from '@lectern/kernel/errors';
import { createHttpHost, installShutdown, sendJson, type HttpHost, type Route } from '@lectern/kernel/http';
import { createLogger, type Logger } from '@lectern/kernel/logger';
import { openFilesLimit } from '@lectern/kernel/process-limits';
import { createMetrics } from '@lectern/kernel/metrics';
import { createRedis } from '@lectern/kernel/redis';
import { startTracing } from '@lectern/kernel/tracing';
import { Authenticator } from './auth.ts';
import { limitsFromEnv, RequestLimiter, type Admission } from './rate-limits.ts';
import { BulkheadFullError, CircuitOpenError, SubgraphGuard } from './resilience.ts';
import { OrganizationPolicies } from './organization-policy.ts';
import { CostModel, costPlugin } from './cost.ts';
import { ResponseCache, responseCachePlugin } from './response-cache.ts';
import { invalidateOnWrite, startCacheInvalidation } from './cache-invalidation.ts';
import { documentHash, documentRefusal, RedisApqCache, TrustedDocuments, trustedDocumentsPlugin } from './trusted-documents.ts';
import client from 'prom-client';
import { corsFor, parseOrigins } from './cors.ts';
import { NODE_SUBGRAPH, nodeDataSource, nodeOwnersOfSupergraph, visibleAt } from './node.ts';
import type { GatewayEnv } from './env.ts';
import { limitRules, MAX_TOKENS } from './limits.ts';
import { postJson, responseView } from './subgraph-client.ts';
import { SubscriptionEngine } from './subscriptions/engine.ts';
import { subscriptionMetrics } from './subscriptions/metrics.ts';
import { attachSocketServer } from './subscriptions/socket-server.ts';
import { SubgraphLink } from './subscriptions/upstream.ts';
import { PLAYGROUND_ASSET_PREFIX, PLAYGROUND_CSP, playgroundAsset, playgroundHtml } from './playground.ts';

export interface GatewayContext extends BaseContext {
  actor: Actor;
  actorToken: string;
  requestId: string;
  traceparent: string;
  /** What the rate limiter admitted the request with (its RateLimit-* headers). */
  admission: Admission;
  /** The subgraphs this operation called (a write to one whose answers are cached invalidates them). */
  touched?: Set<string>;
}

type SubgraphResult = Awaited<ReturnType<GraphQLDataSource['process']>>;

/**
 * Calls one subgraph for the query planner: the operation and variables, the signed actor
 * context, the request id and the trace; never a client header. Errors as Apollo's
 * RemoteGraphQLDataSource reports them (`<status>: <text>` with the response attached).
 */
class ActorDataSource implements GraphQLDataSource<GatewayContext> {
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #guard: SubgraphGuard;
  readonly #log: Logger;
  readonly #cacheable: () => void;
  constructor(url: string, timeoutMs: number, guard: SubgraphGuard, log: Logger, cacheable: () => void) {
    this.#url = new URL(url);
    this.#timeoutMs = timeoutMs;
    this.#guard = guard;
    this.#log = log;
    this.#cacheable = cacheable;
  }

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphResult> {
    const { request, context } = options;
    if (!request.query) throw new Error('Missing query');
    const { http: _http, ...operation } = request;
    context.touched?.add(this.#guard.name);
    const restrict = (hint: { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' }) => {
      const policy = 'incomingRequestContext' in options ? options.incomingRequestContext.overallCachePolicy : undefined;
      if (policy && 'restrict' in policy) policy.restrict(hint);
    };
    let sent;
    try {
      sent = await this.execute(operation, context);
    } catch (err) {
      if (!(err instanceof GraphQLError) || err.extensions.code !== 'SERVICE_UNAVAILABLE') throw err;
      // The fields this fetch would have resolved fail, each with the error at its path; the
      // other subgraphs' fields are answered. A partial answer is never cached.
      restrict({ maxAge: 0 });
      return unavailableFields(operation, err) as unknown as SubgraphResult;
    }
    const hint = cacheHint(sent.view.headers.get('cache-control'));
    if (hint.maxAge > 0) this.#cacheable();
    restrict(hint);
    return { ...sent.body, http: sent.view } as unknown as SubgraphResult;
  }

  /** Sends one operation with the request's actor context; the parsed body, or a typed error. */
  async execute(operation: { query?: string; variables?: Record<string, unknown>; operationName?: string }, context: Partial<GatewayContext>) {
    const headers: Record<string, string> = {};
    if (context.actorToken) {
      headers[ACTOR_HEADER] = context.actorToken;
      if (context.requestId) headers['x-request-id'] = context.requestId;
      if (context.traceparent) headers.traceparent = context.traceparent;
    }
    // One deadline for the fetch, retries included; a query's fetch (a plan's fetches of a
    // mutation other than the mutation itself are queries too) may be sent again, a mutation never.
    const deadline = Date.now() + this.#timeoutMs;
    const payload = JSON.stringify(operation);
    const res = await this.#guard
      .call(() => postJson(this.#url, headers, payload, Math.max(1, deadline - Date.now())), {
        idempotent: !MUTATION.test(operation.query ?? ''),
        deadline,
        isFailedResult: (r) => r.status >= 500,
      })
      .catch((err: unknown) => {
        // Down, refusing connections, too slow, its circuit open or its bulkhead full: a typed,
        // retryable error for the fields it owns (where, only in the log: clients never see URLs).
        const local = err instanceof CircuitOpenError || err instanceof BulkheadFullError;
        if (!local) this.#log.warn({ subgraph: this.#guard.name, err: (err as Error).message, requestId: context.requestId }, 'subgraph call failed');
        throw new GraphQLError(`The ${this.#guard.name} service is unavailable right now; retry in a few seconds`, {
          extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: local ? Math.max(1, Math.ceil(err.retryAfterMs / 1000)) : 5 },
        });
      });
    const view = responseView(res);
    const type = view.headers.get('content-type') ?? '';
    let body: unknown = res.body;
    if (type.startsWith('application/json') || type.startsWith('application/graphql-response+json')) body = JSON.parse(res.body);
    if (!view.ok) {
      const code = res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : res.status >= 502 ? 'SERVICE_UNAVAILABLE' : undefined;
      throw new GraphQLError(`${res.status}: ${res.statusText}`, {
        extensions: { response: { url: this.#url.href, status: res.status, statusText: res.statusText, body }, ...(code ? { code } : {}) },
      });
    }
    if (typeof body !== 'object' || body === null) throw new Error(`Expected JSON response body, but received: ${res.body.slice(0, 200)}`);
    return { body: body as { data?: Record<string, unknown> | null; errors?: unknown[] }, view };
  }
}

const MUTATION = /^\s*mutation\b/;

/**
 * A subgraph's answer for a fetch it could not answer: an error at each field the fetch asked for
 * (each root field, or each entity of an `_entities` fetch, which the gateway maps to the path
 * where that entity sits), as if the subgraph had failed each one.
 */
function unavailableFields(operation: { query?: string; variables?: Record<string, unknown> }, error: GraphQLError) {
  const fields = rootFields(operation.query ?? '{ __typename }');
  const representations = operation.variables?.representations;
  const paths =
    fields.length === 1 && fields[0] === '_entities' && Array.isArray(representations)
      ? representations.map((_, i) => ['_entities', i])
      : fields.map((f) => [f]);
  return { data: null, errors: paths.map((path) => ({ message: error.message, path, extensions: error.extensions })) };
}

/**
 * The response keys a fetch's text asks for at its root. A fetch's text is one of its plan's few,
 * so each is parsed once: while a subgraph is down, every request touching it fails through here.
 */
const rootFieldsOf = new Map<string, string[]>();
function rootFields(query: string): string[] {
  let fields = rootFieldsOf.get(query);
  if (!fields) {
    const op = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    fields = (op?.selectionSet.selections ?? []).flatMap((s) => (s.kind === Kind.FIELD ? [(s.alias ?? s.name).value] : []));
    if (rootFieldsOf.size >= 1000) rootFieldsOf.clear();
    rootFieldsOf.set(query, fields);
  }
  return fields;
}

/** A subgraph's Cache-Control as a cache hint (what Apollo's data source derives). */
function cacheHint(header: string | null): { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } {
  const hint: { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } = { maxAge: 0 };
  for (const part of (header ?? '').split(',')) {
    const [k, v] = part.trim().split('=') as [string, string | undefined];
    if (k === 'max-age' && v && /^[0-9]+$/.test(v)) hint.maxAge = Number(v);
    if (k === 'private') hint.scope = 'PRIVATE';
    if (k === 'public') hint.scope = 'PUBLIC';
  }
  return hint;
}

/** Over HTTP, a subscription is answered with where to send it (@apollo/gateway cannot run one). */
const subscriptionsOverWebSocket: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === 'subscription') {
      context.reportError(new GraphQLError('Subscriptions are served over WebSocket (the graphql-ws protocol) at this same /graphql endpoint, not over HTTP', { nodes: [node] }));
    }
  },
});

/** Development: the origins the gateway itself is reached at (the playground's). */
const devOrigins = (port: number) => [`http://127.0.0.1:${port}`, `http://localhost:${port}`];

export interface RunningGateway {
  url: string;
  http: HttpHost;
  engine: SubscriptionEngine;
  /** Loads the supergraph file again: HTTP and subscriptions move to it (SIGHUP does this). */
  reloadSupergraph(path?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startGateway(env: GatewayEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningGateway> {
  const log = opts.log ?? createLogger('gateway', env.LOG_LEVEL);
  const metrics = createMetrics('gateway');
  const production = env.NODE_ENV === 'production';
  const introspection = env.INTROSPECTION ?? !production;
  const playground = env.PLAYGROUND ?? !production;
  const signer = await ActorSigner.fromJwk(requireKey(env.ACTOR_SIGNING_KEY, DEV_ACTOR_PRIVATE_KEY, 'ACTOR_SIGNING_KEY', env.NODE_ENV));
  const subgraphUrls: Record<string, string> = {
    identity: env.IDENTITY_URL,
    catalog: env.CATALOG_URL,
    enrollment: env.ENROLLMENT_URL,
    learning: env.LEARNING_URL,
    notifications: env.NOTIFICATIONS_URL,
    live: env.LIVE_URL,
    assessment: env.ASSESSMENT_URL,
    media: env.MEDIA_URL,
    certification: env.CERTIFICATION_URL,
  };
  const auth = new Authenticator({
    identityUrl: env.IDENTITY_URL,
    credential: serviceCredential('gateway', env),
    apiKeyCacheSeconds: env.API_KEY_CACHE_SECONDS,
    sessionCheckSeconds: env.SESSION_CHECK_SECONDS,
  });
  const redis = createRedis(env.REDIS_URL);
  const limiter = env.RATE_LIMITS ? new RequestLimiter(redis, env.REDIS_PREFIX, limitsFromEnv(env), log) : null;
  // Trusted documents (the typed clients' operations, from codegen) and APQ shared in Redis; an
  // organization may require its people's tokens to send only trusted documents.
  const trusted = TrustedDocuments.load(env.TRUSTED_DOCUMENTS_PATH);
  const policies = new OrganizationPolicies({ identityUrl: env.IDENTITY_URL, credential: serviceCredential('gateway', env), ttlSeconds: env.ORGANIZATION_POLICY_SECONDS });
  const trustedRequired = async (actor: Actor) => actor.kind === 'user' && actor.tenantId !== null && (await policies.of(actor.tenantId)).requireTrustedDocuments;
  // Answers cached in Redis by the subgraphs' cache hints, per organization and visibility
  // (response-cache.ts); the events that change published content invalidate them.
  const cacheRedis = env.RESPONSE_CACHE_REDIS_URL ? createRedis(env.RESPONSE_CACHE_REDIS_URL) : redis;
  const responseCache = env.RESPONSE_CACHE ? new ResponseCache({ redis: cacheRedis, prefix: env.REDIS_PREFIX, log }) : null;
  const cacheEvents = new client.Counter({ name: 'lectern_gateway_response_cache_total', help: 'Response cache lookups and stores by outcome', labelNames: ['event'] as const, registers: [metrics.registry] });
  // Consumed even with the cache off, so its queue never grows.
  const invalidation = startCacheInvalidation({ redisUrl: env.REDIS_URL, redisPrefix: env.REDIS_PREFIX, invalidateTenant: (id) => responseCache?.invalidateTenant(id) ?? Promise.resolve(), log });
  // The subgraphs that have sent a cache hint: a write through them invalidates (cache-invalidation.ts).
  const cachedSubgraphs = new Set<string>();
  const supergraphSdl = readFileSync(env.SUPERGRAPH_PATH, 'utf8');
  const cors = corsFor(env.CORS_ORIGINS !== undefined ? parseOrigins(env.CORS_ORIGINS) : production ? [] : devOrigins(env.PORT), ['/graphql']);

  const circuits = new client.Gauge({
    name: 'lectern_gateway_subgraph_circuit_state',
    help: "Each subgraph's circuit: 0 closed, 1 half-open (probing), 2 open (its fields fail at once)",
    labelNames: ['subgraph'] as const,
    registers: [metrics.registry],
  });
  const CIRCUIT_VALUE = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;
  const sources = new Map<string, ActorDataSource>();
  const source = (name: string, url?: string) => {
    let s = sources.get(name);
    if (!s) {
      const guard = new SubgraphGuard(name, {
        bulkhead: { maxConcurrent: env.SUBGRAPH_MAX_CONCURRENT, maxQueue: env.SUBGRAPH_MAX_QUEUE, queueTimeoutMs: env.SUBGRAPH_QUEUE_TIMEOUT_MS },
        retries: env.SUBGRAPH_RETRIES,
        breaker: { failureRate: env.BREAKER_FAILURE_RATE, minimumRequests: env.BREAKER_MIN_REQUESTS, windowMs: env.BREAKER_WINDOW_MS, openMs: env.BREAKER_OPEN_MS },
        onStateChange: (state, subgraph) => {
          circuits.set({ subgraph }, CIRCUIT_VALUE[state]);
          log.warn({ subgraph, state }, `circuit of subgraph ${subgraph} is ${state}`);
        },
      });
      circuits.set({ subgraph: name }, 0);
      const timeout = env.SUBGRAPH_TIMEOUTS[name] ?? env.SUBGRAPH_TIMEOUT_MS;
      sources.set(name, (s = new ActorDataSource(subgraphUrls[name] ?? url ?? '', timeout, guard, log, () => cachedSubgraphs.add(name))));
    }
    return s;
  };
  // node(id:) asks the owning subgraph whether the caller may see the object (node.ts).
  const nodesOf = (sdl: string) =>
    nodeDataSource(nodeOwnersOfSupergraph(sdl), (owner, refs, context) =>
      visibleAt(async (operation) => (await source(owner).execute(operation, context as Partial<GatewayContext>)).body, refs),
    );
  // Apollo keeps a subgraph's data source across supergraph updates (same URL), so the node
  // subgraph's is a stand-in for the current supergraph's Node types (reloadSupergraph swaps it).
  let currentNodes = nodesOf(supergraphSdl);
  const nodes: GraphQLDataSource<GatewayContext> = { process: (options) => currentNodes.process(options as never) as never };

  // The supergraph can be replaced while running (reloadSupergraph: SIGHUP in runGateway):
  // HTTP operations plan against the new one, and subscriptions move to it (engine.ts).
  let updateSupergraph: ((sdl: string) => void) | undefined;
  const gateway = new ApolloGateway({
    supergraphSdl: ({ update }) => {
      updateSupergraph = update;
      return Promise.resolve({ supergraphSdl });
    },
    buildService: ({ name, url }) => (name === NODE_SUBGRAPH ? nodes : source(name, url)),
    logger: { debug: () => {}, info: () => {}, warn: (m) => log.warn(String(m)), error: (m) => log.error(String(m)) },
  });
  const formatError = makeFormatError(log);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError,
    includeStacktraceInErrorResponses: false,
    introspection,
    // No "Did you mean …?" where the schema is not public: suggestions would leak it.
    hideSchemaDetailsFromClientErrors: !introspection,
    validationRules: [...limitRules(), subscriptionsOverWebSocket],
    parseOptions: { maxTokens: MAX_TOKENS },
    allowBatchedHttpRequests: false,
    persistedQueries: { cache: new RedisApqCache({ redis, prefix: `${env.REDIS_PREFIX}gateway:apq:`, documents: trusted }), ttl: 24 * 60 * 60 },
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // Demand control: refused above COST_MAX_PER_OPERATION before any subgraph is called; the
      // actual cost is charged to the organization's budget (rate-limits.ts) and reported.
      costPlugin<GatewayContext>(CostModel.fromSupergraph(supergraphSdl), {
        maxCost: env.COST_MAX_PER_OPERATION,
        charge: ({ actor, admission }, actual) => Promise.resolve(limiter?.charge(actor, actual, admission)),
      }),
      trustedDocumentsPlugin<GatewayContext>({
        documents: trusted,
        // People of an organization that requires them; API keys (integrators) send any document.
        required: ({ actor }) => trustedRequired(actor),
      }),
      ...(responseCache
        ? [
            responseCachePlugin<GatewayContext>(responseCache, { onEvent: (event) => cacheEvents.inc({ event }) }),
            invalidateOnWrite<GatewayContext>({ cache: responseCache, wroteCached: (ctx) => [...(ctx.touched ?? [])].some((n) => cachedSubgraphs.has(n)), log }),
          ]
        : []),
    ],
    logger: { debug: () => {}, info: () => {}, warn: (m) => log.warn(m), error: (m) => log.error(m) },
  });
  await apollo.start();

  const credential = serviceCredential('gateway', env);
  const links = new Map<string, SubgraphLink>();
  const link = (name: string) => {
    let l = links.get(name);
    if (!l) links.set(name, (l = new SubgraphLink(name, subgraphUrls[name] ?? '', credential, log, (up) => wsMetrics.link(name, up))));
    return l;
  };
  const wsMetrics = subscriptionMetrics(metrics);
  const engine = new SubscriptionEngine(supergraphSdl, {
    log,
    source: (name) => (name === NODE_SUBGRAPH ? nodes : source(name)),
    link,
    sign: (actor) => signer.signNow(actor),
    metrics: wsMetrics,
    queueCapacity: env.WS_SUBSCRIBER_QUEUE,
    formatError: (error) => {
      // What HTTP answers (no stack, no internals), once per result rather than per subscriber.
      const f = formatError(error.toJSON(), error);
      return new GraphQLError(f.message, { path: f.path, extensions: f.extensions });
    },
  });
  let engineUpdate = Promise.resolve();
  let engineSdl = supergraphSdl;
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    if (coreSupergraphSdl === engineSdl) return;
    engineSdl = coreSupergraphSdl;
    engineUpdate = engineUpdate.then(() => engine.update(coreSupergraphSdl)).catch((err: unknown) => log.error({ err }, 'subscriptions could not move to the new supergraph'));
  });

  const routes: Route[] = [];
  if (playground) {
    routes.push((req, res, url) => {
      if (req.method !== 'GET') return false;
      if (url.pathname === '/' || url.pathname === '/playground') {
        if (url.pathname === '/') {
          res.writeHead(302, { location: '/playground' });
          res.end();
          return true;
        }
        const html = playgroundHtml({ endpoint: '/graphql', title: 'Lectern playground' });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PLAYGROUND_CSP, 'x-content-type-options': 'nosniff' });
        res.end(html);
        return true;
      }
      if (url.pathname.startsWith(PLAYGROUND_ASSET_PREFIX)) {
        const asset = playgroundAsset(url.pathname);
        if (!asset) return false;
        res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'public, max-age=86400', 'x-content-type-options': 'nosniff' });
        res.end(asset.body);
        return true;
      }
      return false;
    });
  }

  const host = createHttpHost<GatewayContext>({
    log,
    metrics,
    routes,
    bodyLimit: env.BODY_LIMIT_BYTES,
    trustProxy: env.TRUST_PROXY,
    before: (req, res, url) => cors.handle(req, res, url.pathname),
    graphql: {
      path: '/graphql',
      apollo,
      async context(req, info) {
        const header = req.headers.authorization;
        const actor = await auth.actorFor(typeof header === 'string' ? header : undefined, info.ip, info.requestId);
        const admission = limiter ? await limiter.admit(actor) : { headers: {} };
        return { actor, actorToken: await signer.sign(actor), requestId: info.requestId, traceparent: info.traceparent, admission, touched: new Set<string>() };
      },
      body: (body) => trusted.rewriteBody(body),
      finish(ctx, response) {
        for (const [name, value] of Object.entries(ctx.admission.headers)) response.headers.set(name, value);
        return Promise.resolve();
      },
    },
    // Ready while it can verify tokens; a subgraph that does not answer makes it "degraded", not
    // unready: every other subgraph's fields are still served.
    readiness: {
      identityKeys: () => auth.checkJwks(),
    },
    dependencies: {
      ...Object.fromEntries(
        Object.entries(subgraphUrls).map(([name, url]) => [
          name,
          async () => {
            const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(2000) });
            if (!res.ok) throw new Error(`${name} answered ${res.status}`);
          },
        ]),
      ),
    },
  });
  // Each socket is a file descriptor: more sockets than the process may open would fail at accept.
  const files = openFilesLimit();
  const maxSockets = files === null ? env.WS_MAX_SOCKETS : Math.min(env.WS_MAX_SOCKETS, Math.max(100, files - 1000));
  if (maxSockets < env.WS_MAX_SOCKETS) log.warn({ WS_MAX_SOCKETS: env.WS_MAX_SOCKETS, openFilesLimit: files, maxSockets }, 'the open-file limit (ulimit -n) holds fewer sockets than WS_MAX_SOCKETS; raise it to serve more');
  const sockets = attachSocketServer(host.server, {
    path: '/graphql',
    log,
    auth,
    signer,
    engine,
    apollo: apollo as never,
    cors,
    trustProxy: env.TRUST_PROXY,
    validationRules: limitRules(),
    formatError,
    // Subscriptions are held to the organization's trusted documents as HTTP operations are.
    admitDocument: (actor, query) => documentRefusal(trusted, documentHash(query), query, () => trustedRequired(actor)),
    metrics: wsMetrics,
    limits: {
      initTimeoutMs: env.WS_INIT_TIMEOUT_MS,
      pingIntervalMs: env.WS_PING_INTERVAL_MS,
      maxSockets,
      maxSocketsPerUser: env.WS_MAX_SOCKETS_PER_USER,
      maxSubscriptionsPerSocket: env.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxSubscriptionsPerUser: env.WS_MAX_SUBSCRIPTIONS_PER_USER,
      maxSubscriptions: env.WS_MAX_SUBSCRIPTIONS,
      maxPayloadBytes: env.BODY_LIMIT_BYTES,
      maxTokens: MAX_TOKENS,
    },
  });
  const base = await host.listen(opts.port ?? env.PORT, env.HOST);
  log.info({ url: `${base}/graphql`, playground: playground ? `${base}/playground` : null }, 'gateway listening');
  return {
    url: `${base}/graphql`,
    http: host,
    engine,
    async reloadSupergraph(path = env.SUPERGRAPH_PATH) {
      const sdl = readFileSync(path, 'utf8');
      currentNodes = nodesOf(sdl);
      updateSupergraph?.(sdl);
      await engineUpdate;
      log.info({ path }, 'supergraph reloaded');
    },
    async close() {
      await sockets.close();
      engine.close();
      await Promise.all([...links.values()].map((l) => l.close()));
      await host.close();
      await apollo.stop();
      await invalidation.close();
      if (cacheRedis !== redis) cacheRedis.disconnect();
      redis.disconnect();
    },
  };
}

export async function runGateway(env: GatewayEnv) {
  const log = createLogger('gateway', env.LOG_LEVEL);
  try {
    // OpenTelemetry when OTEL_* configure an exporter (kernel tracing.ts): @apollo/gateway's spans
    // (plan, fetches) join the request's, and postJson carries the trace to each subgraph.
    const tracing = await startTracing('gateway', undefined, { log });
    const running = await startGateway(env, { log });
    installShutdown(log, [() => running.close(), () => tracing.shutdown()], env.SHUTDOWN_GRACE_MS);
    process.on('SIGHUP', () => {
      running.reloadSupergraph().catch((err: unknown) => log.error({ err }, 'supergraph reload failed; still serving the previous one'));
    });
  } catch (err) {
    log.fatal({ err }, `gateway failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}

export { loadEnv } from './env.ts';
export { sendJson };
