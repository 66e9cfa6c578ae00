// The gateway: one public endpoint composing every subgraph. It authenticates the caller,
// signs the actor context subgraphs trust, enforces operation limits, and never forwards
// client headers (a client's tenant header reaches no subgraph).
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ACTOR_HEADER, ActorSigner, type Actor } from '@lectern/kernel/actor';
import { DEV_ACTOR_PRIVATE_KEY, requireKey } from '@lectern/kernel/dev-keys';
import { makeFormatError } from '@lectern/kernel/errors';
import { createHttpHost, installShutdown, sendJson, type HttpHost, type Route } from '@lectern/kernel/http';
import { createLogger, type Logger } from '@lectern/kernel/logger';
import { createMetrics } from '@lectern/kernel/metrics';
import { Authenticator } from './auth.ts';
import type { GatewayEnv } from './env.ts';
import { limitRules, MAX_TOKENS } from './limits.ts';
import { PLAYGROUND_ASSET_PREFIX, PLAYGROUND_CSP, playgroundAsset, playgroundHtml } from './playground.ts';

export interface GatewayContext extends BaseContext {
  actor: Actor;
  actorToken: string;
  requestId: string;
  traceparent: string;
}

type Fetcher = NonNullable<NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher']>;

class ActorDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const headers = request.http?.headers;
    if (!headers || !('actorToken' in context)) return;
    headers.set(ACTOR_HEADER, context.actorToken);
    headers.set('x-request-id', context.requestId);
    headers.set('traceparent', context.traceparent);
  }
}

export interface RunningGateway {
  url: string;
  http: HttpHost;
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
  };
  const auth = new Authenticator({ identityUrl: env.IDENTITY_URL, signer, apiKeyCacheSeconds: env.API_KEY_CACHE_SECONDS });

  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(env.SUPERGRAPH_PATH, 'utf8'),
    // Node's own fetch (undici, keep-alive pool per origin) instead of the default
    // make-fetch-happen, which cost a quarter of the gateway's CPU in `pnpm bench progress`.
    buildService: ({ name, url }) => new ActorDataSource({ url: subgraphUrls[name] ?? url, fetcher: fetch as unknown as Fetcher }),
    logger: { debug: () => {}, info: () => {}, warn: (m) => log.warn(String(m)), error: (m) => log.error(String(m)) },
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError: makeFormatError(log),
    includeStacktraceInErrorResponses: false,
    introspection,
    validationRules: limitRules(),
    parseOptions: { maxTokens: MAX_TOKENS },
    allowBatchedHttpRequests: false,
    plugins: [ApolloServerPluginLandingPageDisabled()],
    logger: { debug: () => {}, info: () => {}, warn: (m) => log.warn(m), error: (m) => log.error(m) },
  });
  await apollo.start();

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
    graphql: {
      path: '/graphql',
      apollo,
      async context(req, info) {
        const header = req.headers.authorization;
        const actor = await auth.actorFor(typeof header === 'string' ? header : undefined, info.ip, info.requestId);
        return { actor, actorToken: await signer.sign(actor), requestId: info.requestId, traceparent: info.traceparent };
      },
    },
    readiness: {
      identityKeys: () => auth.checkJwks(),
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
  const base = await host.listen(opts.port ?? env.PORT, env.HOST);
  log.info({ url: `${base}/graphql`, playground: playground ? `${base}/playground` : null }, 'gateway listening');
  return {
    url: `${base}/graphql`,
    http: host,
    async close() {
      await host.close();
      await apollo.stop();
    },
  };
}

export async function runGateway(env: GatewayEnv) {
  const log = createLogger('gateway', env.LOG_LEVEL);
  try {
    const running = await startGateway(env, { log });
    installShutdown(log, [() => running.close()], env.SHUTDOWN_GRACE_MS);
  } catch (err) {
    log.fatal({ err }, `gateway failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}

export { loadEnv } from './env.ts';
export { sendJson };
