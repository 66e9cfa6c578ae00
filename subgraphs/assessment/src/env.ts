// Assessment configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';

export const assessmentEnv = baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4007),
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5007),
  /** catalog's GraphQL URL; its internal endpoints live on the same origin (a quiz's course is checked there). */
  CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /**
   * How often the worker looks for attempts past their deadline that are still open (ms): the
   * safety net under the delayed job each attempt gets (a job Redis lost or never got).
   */
  DEADLINE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
});
export type AssessmentEnv = z.infer<typeof assessmentEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): AssessmentEnv {
  return parseEnv(assessmentEnv, { ...rawEnv(), ...overrides });
}
