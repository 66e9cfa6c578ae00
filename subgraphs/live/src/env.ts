// Live configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';

export const liveEnv = baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4006),
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5006),
  /** A presence lease not renewed for this long expires (the subscriber is gone). */
  PRESENCE_TTL_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  /** How often the subgraph sweeps expired presence leases (ms). */
  PRESENCE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Chat rate limit: tokens refilled per minute, per (organization, session, person). */
  CHAT_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(20),
  /** Chat rate limit: bucket size (a burst of this many messages is accepted at once). */
  CHAT_BURST: z.coerce.number().int().min(1).max(10_000).default(5),
});
export type LiveEnv = z.infer<typeof liveEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): LiveEnv {
  return parseEnv(liveEnv, { ...rawEnv(), ...overrides });
}
