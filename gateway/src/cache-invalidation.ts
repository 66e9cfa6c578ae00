// The response cache forgets what a write changed, two ways:
// - Events: the gateway consumes its own event queue (events-gateway:
//   packages/contracts/src/subscriptions.ts names the events) with a BullMQ worker; catalog's
//   relay delivers CoursePublished and CourseUnpublished to it within moments of the commit, and
//   each one invalidates its organization's cached answers (response-cache.ts).
// - Read your writes (invalidateOnWrite): a mutation through this gateway that called a subgraph
//   whose answers are cached invalidates its organization's answers before it is answered, so
//   the writer's next read never sees the old answer; the events cover writes made elsewhere.
// Invalidation is idempotent, so the gateway keeps no record of processed events: a redelivery
// invalidates again. Every gateway replica runs a worker; each event is taken by one of them,
// and the cache it invalidates is in Redis, shared by all.
import { Worker } from 'bullmq';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Actor } from '@lectern/kernel/actor';
import { GATEWAY } from '@lectern/contracts/gateway';
import { subscriptions } from '@lectern/contracts/subscriptions';
import { envelopeSchema } from '@lectern/kernel/events';
import { within } from '@lectern/kernel/deadline';
import type { Logger } from '@lectern/kernel/logger';
import { bullPrefix, eventQueueName, workerConnection } from '@lectern/kernel/queues';

/** Every event the gateway subscribes to changes published content some answer may hold. */
const INVALIDATING = new Set<string>(subscriptions[GATEWAY].map((e) => e.type));

export interface CacheInvalidation {
  close(): Promise<void>;
}

export function startCacheInvalidation(opts: {
  redisUrl: string;
  redisPrefix: string;
  invalidateTenant(tenantId: string): Promise<void>;
  log: Logger;
}): CacheInvalidation {
  const connection = workerConnection(opts.redisUrl);
  const worker = new Worker(
    eventQueueName(GATEWAY),
    async (job) => {
      const event = envelopeSchema.parse(job.data);
      if (!INVALIDATING.has(event.type) || !event.tenantId) return;
      await opts.invalidateTenant(event.tenantId);
      opts.log.debug({ eventId: event.id, eventType: event.type, tenantId: event.tenantId }, 'response cache invalidated');
    },
    { connection, prefix: bullPrefix(opts.redisPrefix), concurrency: 8 },
  );
  let warned = 0;
  worker.on('error', (err) => {
    if (Date.now() - warned > 10_000) opts.log.warn({ err }, `cache invalidation worker: ${err.message}`);
    warned = Date.now();
  });
  return {
    async close() {
      // While Redis does not answer, BullMQ's close would wait for it: bounded, then cut.
      await within(2000, () => worker.close(), 'the cache invalidation worker did not close').catch(() => {});
      connection.disconnect();
    },
  };
}

/** The read-your-writes plugin (see the header): `wroteCached(ctx)` says whether the operation called a cached subgraph. */
export function invalidateOnWrite<Ctx extends BaseContext & { actor: Actor }>(opts: {
  cache: { invalidateTenant(tenantId: string): Promise<void> };
  wroteCached(ctx: Ctx): boolean;
  log: Logger;
}): ApolloServerPlugin<Ctx> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, contextValue }) {
          const tenantId = contextValue.actor.tenantId;
          if (operation?.operation !== 'mutation' || !tenantId || !opts.wroteCached(contextValue)) return;
          await within(500, () => opts.cache.invalidateTenant(tenantId), 'Redis did not answer').catch((err: unknown) =>
            opts.log.warn({ err: (err as Error).message, tenantId }, 'response cache not invalidated after a write; its event will'),
          );
        },
      };
    },
  };
}
