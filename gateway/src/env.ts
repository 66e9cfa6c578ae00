import { baseEnv, bool, parseEnv, z } from '@lectern/kernel/env';

const perMinute = (d: number) => z.coerce.number().positive().max(1_000_000_000).default(d);
const burst = (d: number) => z.coerce.number().int().positive().max(1_000_000_000).default(d);
/** `<organization id>=<requests per minute>/<burst>[/<cost per minute>]`, comma-separated. */
const organizationLimits = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const out: Record<string, { organization: { perMinute: number; burst: number }; costPerMinute?: number }> = {};
    for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = /^([0-9a-f-]{36})=(\d+)\/(\d+)(?:\/(\d+))?$/i.exec(part);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not <organization id>=<per minute>/<burst>[/<cost per minute>]` });
        return z.NEVER;
      }
      out[m[1]!.toLowerCase()] = { organization: { perMinute: Number(m[2]), burst: Number(m[3]) }, ...(m[4] ? { costPerMinute: Number(m[4]) } : {}) };
    }
    return out;
  });

export const gatewayEnv = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).default(4000),
  /** Private Ed25519 JWK (JSON) that signs the actor context; the gateway's alone. A development key is used when unset outside production. */
  ACTOR_SIGNING_KEY: z.string().optional(),
  SUPERGRAPH_PATH: z.string().default(new URL('../../schema/supergraph.graphql', import.meta.url).pathname),
  /** The trusted documents manifest (`pnpm codegen` writes it from the typed client's operations). */
  TRUSTED_DOCUMENTS_PATH: z.string().default(new URL('../../schema/trusted-documents.json', import.meta.url).pathname),
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
  CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  ENROLLMENT_URL: z.string().url().default('http://127.0.0.1:4003/graphql'),
  LEARNING_URL: z.string().url().default('http://127.0.0.1:4004/graphql'),
  NOTIFICATIONS_URL: z.string().url().default('http://127.0.0.1:4005/graphql'),
  LIVE_URL: z.string().url().default('http://127.0.0.1:4006/graphql'),
  ASSESSMENT_URL: z.string().url().default('http://127.0.0.1:4007/graphql'),
  MEDIA_URL: z.string().url().default('http://127.0.0.1:4008/graphql'),
  CERTIFICATION_URL: z.string().url().default('http://127.0.0.1:4009/graphql'),
  /**
   * How long the gateway waits for a subgraph's answer (ms) before the fields it owns fail with
   * SERVICE_UNAVAILABLE (the rest of the operation is still answered): a stopped subgraph must not
   * hold requests for a minute.
   */
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(8000),
  /** Per-subgraph exceptions, `name=ms` comma-separated (e.g. `media=20000`). */
  SUBGRAPH_TIMEOUTS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const out: Record<string, number> = {};
      for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
        const m = /^([a-z]+)=(\d{3,6})$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not name=milliseconds (e.g. media=20000)` });
          return z.NEVER;
        }
        out[m[1]!] = Number(m[2]);
      }
      return out;
    }),
  /**
   * Request limits (token buckets in Redis, shared by every replica; rate-limits.ts): per
   * organization, per user or API key, per client address for anonymous requests. `false` turns
   * them off (benchmarks of raw throughput).
   */
  RATE_LIMITS: bool.default(true),
  RATE_LIMIT_ORG_PER_MINUTE: perMinute(6000),
  RATE_LIMIT_ORG_BURST: burst(600),
  RATE_LIMIT_USER_PER_MINUTE: perMinute(1200),
  RATE_LIMIT_USER_BURST: burst(200),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: perMinute(300),
  RATE_LIMIT_ANONYMOUS_BURST: burst(60),
  /** Organizations with limits of their own (their plan): `<id>=<per minute>/<burst>[/<cost per minute>]`, comma-separated. */
  RATE_LIMIT_ORGANIZATIONS: organizationLimits,
  /** An operation whose estimated cost (cost.ts) is above this is refused before any subgraph is called. */
  COST_MAX_PER_OPERATION: z.coerce.number().int().positive().default(50_000),
  /** Each organization's budget of actual cost per minute (at most one minute's worth saved up). */
  COST_BUDGET_PER_MINUTE: perMinute(1_000_000),
  /**
   * Resilience per subgraph (resilience.ts): at most SUBGRAPH_MAX_CONCURRENT calls in flight, the
   * next SUBGRAPH_MAX_QUEUE waiting at most SUBGRAPH_QUEUE_TIMEOUT_MS (then SERVICE_UNAVAILABLE);
   * queries retried SUBGRAPH_RETRIES times after a connection failure (never mutations); a circuit
   * that opens when BREAKER_FAILURE_RATE of at least BREAKER_MIN_REQUESTS calls in BREAKER_WINDOW_MS
   * failed, refuses at once for BREAKER_OPEN_MS, then lets one probe through.
   */
  SUBGRAPH_MAX_CONCURRENT: z.coerce.number().int().positive().default(64),
  SUBGRAPH_MAX_QUEUE: z.coerce.number().int().min(0).default(128),
  SUBGRAPH_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(0).default(1000),
  SUBGRAPH_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  BREAKER_FAILURE_RATE: z.coerce.number().gt(0).max(1).default(0.5),
  BREAKER_MIN_REQUESTS: z.coerce.number().int().positive().default(10),
  BREAKER_WINDOW_MS: z.coerce.number().int().min(1000).default(10_000),
  BREAKER_OPEN_MS: z.coerce.number().int().min(100).default(5000),
  /** Cache query answers in Redis by the subgraphs' cache hints (response-cache.ts); `false` turns it off. */
  RESPONSE_CACHE: bool.default(true),
  /**
   * A Redis of its own for the cached answers (e.g. one with `maxmemory-policy allkeys-lru`, which
   * the Redis holding queues must never have); default REDIS_URL. Entries expire by themselves.
   */
  RESPONSE_CACHE_REDIS_URL: z.string().optional(),
  /** Defaults: on in development and test, off in production. */
  INTROSPECTION: bool.optional(),
  PLAYGROUND: bool.optional(),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  /** Honour X-Forwarded-For (behind a load balancer you trust). */
  TRUST_PROXY: bool.default(false),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).default(30),
  /** How long an organization's gateway settings (require trusted documents) are trusted before identity is asked again. */
  ORGANIZATION_POLICY_SECONDS: z.coerce.number().int().min(0).max(600).default(30),
  /** How long the gateway trusts that an access token's session is not signed out. */
  SESSION_CHECK_SECONDS: z.coerce.number().int().min(0).max(60).default(5),
  /** Browser origins allowed to call the API (comma-separated); default: none in production, the gateway's own in development. */
  CORS_ORIGINS: z.string().optional(),
  /** Subscriptions over WebSocket (graphql-ws): a socket must send connection_init within this (else 4408). */
  WS_INIT_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  /** Every socket is pinged this often; one that did not answer the previous ping is terminated. */
  WS_PING_INTERVAL_MS: z.coerce.number().int().positive().default(12_000),
  WS_MAX_SOCKETS: z.coerce.number().int().positive().default(50_000),
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().positive().default(20),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().positive().default(50),
  WS_MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().positive().default(200),
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().positive().default(100_000),
  /** Results a subscriber may have waiting (a slow reader) before the oldest is dropped. */
  WS_SUBSCRIBER_QUEUE: z.coerce.number().int().positive().default(100),
});
export type GatewayEnv = z.infer<typeof gatewayEnv>;

export function loadEnv(overrides: Record<string, string | undefined> = {}): GatewayEnv {
  return parseEnv(gatewayEnv, { ...process.env, ...overrides });
}
