// Enrollment configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';

/** Unset and empty are the same (compose files and shells pass empty strings). */
const optional = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

export const enrollmentEnv = baseEnv.extend(databaseEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4003),
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5003),
  /** catalog's GraphQL URL; its internal endpoints live on the same origin. */
  CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /** identity's GraphQL URL; its internal endpoints live on the same origin. */
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
  /** Ed25519 private JWK (JSON) that signs `service` actor contexts for other contexts' internal endpoints. */
  ACTOR_SIGNING_KEY: optional,
});
export type EnrollmentEnv = z.infer<typeof enrollmentEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): EnrollmentEnv {
  return parseEnv(enrollmentEnv, { ...rawEnv(), ...overrides });
}
