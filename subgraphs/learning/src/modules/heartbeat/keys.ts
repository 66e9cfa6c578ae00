// Redis keys of the heartbeat buffer and the enrollment access cache. `prefix` is the
// process's REDIS_PREFIX when the client does not add it itself (workers), '' when it does
// (the subgraph's client has keyPrefix). The {shard} hash tag keeps a shard's stream, lease
// and dedupe keys in one cluster slot, so the accept script touches a single slot.
import { createHash } from 'node:crypto';

/** Streams the buffer is sharded over (by learner). Changing it needs a drained buffer. */
export const SHARDS = 16;
export const FLUSH_GROUP = 'flushers';
/** How long a heartbeat's idempotency key is remembered. */
export const DEDUPE_TTL_SECONDS = 24 * 3600;
/** How long a learner's cached lesson access lives (consumers also invalidate it). */
export const ACCESS_TTL_SECONDS = 600;

export const shardOf = (learnerId: string) => createHash('sha1').update(learnerId).digest().readUInt32BE(0) % SHARDS;

export function learningKeys(prefix: string) {
  return {
    stream: (shard: number) => `${prefix}learning:beats:{${shard}}`,
    dedupe: (shard: number, tenantId: string, learnerId: string, key: string) => `${prefix}learning:beat:{${shard}}:${tenantId}:${learnerId}:${key}`,
    lease: (shard: number) => `${prefix}learning:flush-lease:{${shard}}`,
    /** The live flushers (sorted set: consumer → last seen, ms), for sharing the shards out. */
    flushers: () => `${prefix}learning:flushers`,
    access: (tenantId: string, learnerId: string) => `${prefix}learning:access:${tenantId}:${learnerId}`,
  };
}
export type LearningKeys = ReturnType<typeof learningKeys>;
