// Live's process-wide pieces (the request path), built once at start (the definition's
// `runtime`): presence (Redis leases, the sweeper that expires them, attendance on each
// transition), the chat rate limiter, and the publisher of session events.
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import type { LiveEnv } from './env.ts';
import { TokenBucket } from '@lectern/kernel/rate-limit';
import { PresenceService } from './modules/presence/presence.service.ts';
import { PresenceStore } from './modules/presence/presence.store.ts';
import { createPublisher, type Publisher } from './modules/realtime/events.ts';

export interface SubgraphRuntime {
  presence: PresenceService;
  rateLimiter: TokenBucket;
  publisher: Publisher;
  close(): Promise<void>;
}

/** The subgraph's Redis client adds REDIS_PREFIX itself (keyPrefix): the stores add none. */
export function createSubgraphRuntime(deps: SubgraphDeps<LiveEnv>): SubgraphRuntime {
  const { env, redis, orm, log } = deps;
  const publisher = createPublisher(deps.publish, log);
  const presence = new PresenceService({ orm, store: new PresenceStore(redis, { ttlSeconds: env.PRESENCE_TTL_SECONDS }), publisher, log });
  presence.start(env.PRESENCE_SWEEP_INTERVAL_MS);
  return {
    presence,
    rateLimiter: new TokenBucket(redis, { prefix: 'live:chat-bucket:', perMinute: env.CHAT_RATE_PER_MINUTE, burst: env.CHAT_BURST }),
    publisher,
    close: () => presence.stop(),
  };
}
