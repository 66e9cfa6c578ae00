import { baseEnv, bool, parseEnv, z } from '@lectern/kernel/env';

export const gatewayEnv = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).default(4000),
  /** Private Ed25519 JWK (JSON) that signs the actor context; the gateway's alone. A development key is used when unset outside production. */
  ACTOR_SIGNING_KEY: z.string().optional(),
  SUPERGRAPH_PATH: z.string().default(new URL('../../schema/supergraph.graphql', import.meta.url).pathname),
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
  /** Defaults: on in development and test, off in production. */
  INTROSPECTION: bool.optional(),
  PLAYGROUND: bool.optional(),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  /** Honour X-Forwarded-For (behind a load balancer you trust). */
  TRUST_PROXY: bool.default(false),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).default(30),
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
