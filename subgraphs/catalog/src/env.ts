// Catalog configuration, parsed once at start (CONVENTIONS: the one place that reads the environment).
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';

export const catalogEnv = baseEnv.extend(databaseEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4002),
  /** identity's GraphQL URL; its internal endpoints live on the same origin (who may author). */
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
  /** media's GraphQL URL; its internal endpoints live on the same origin (whether a lesson's video exists and is READY). */
  MEDIA_URL: z.string().url().default('http://127.0.0.1:4008/graphql'),
});
export type CatalogEnv = z.infer<typeof catalogEnv>;

/** The environment merged with `overrides` (tests point the subgraph at their own database). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): CatalogEnv {
  return parseEnv(catalogEnv, { ...rawEnv(), ...overrides });
}

export const catalogWorkerEnv = baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape).extend({
  WORKER_PORT: z.coerce.number().int().min(0).default(5002),
});
export type CatalogWorkerEnv = z.infer<typeof catalogWorkerEnv>;

export function loadWorkerEnv(overrides: Record<string, string | undefined> = {}): CatalogWorkerEnv {
  return parseEnv(catalogWorkerEnv, { ...process.env, ...overrides });
}
