// Learning configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';

export const learningEnv = baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4004),
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5004),
  /** catalog's GraphQL URL; its internal endpoints live on the same origin. */
  CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /** identity's GraphQL URL; its internal endpoints live on the same origin. */
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
  /** Heartbeat flusher (worker): pause between flushes when the buffer is not full. */
  FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  /** Heartbeat entries read per shard per flush. */
  FLUSH_BATCH_PER_SHARD: z.coerce.number().int().min(1).max(100_000).default(2000),
  /** A dead flusher's shards and pending heartbeats are taken over after this long. */
  FLUSH_LEASE_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Run the heartbeat flusher in this worker (default true). */
  FLUSHER_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
});
export type LearningEnv = z.infer<typeof learningEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): LearningEnv {
  return parseEnv(learningEnv, { ...rawEnv(), ...overrides });
}
