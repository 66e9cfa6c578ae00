// Enrollment configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';

// One environment for the subgraph and its worker (the worker's retention and recovery settings included).
export const enrollmentEnv = baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4003),
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5003),
  /** catalog's GraphQL URL; its internal endpoints live on the same origin. */
  CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /** identity's GraphQL URL; its internal endpoints live on the same origin. */
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
  /** How often the worker re-enqueues unfinished roster imports whose job Redis never got or lost (ms). */
  ROSTER_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
});
export type EnrollmentEnv = z.infer<typeof enrollmentEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): EnrollmentEnv {
  return parseEnv(enrollmentEnv, { ...rawEnv(), ...overrides });
}
