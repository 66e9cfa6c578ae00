// The only place in the kernel that reads process.env (lint forbids it elsewhere).
// Every process parses its configuration once, at start, through parseEnv.
import { z } from 'zod';

export class ConfigError extends Error {}

/** Parses `source` with `schema`; on failure throws one readable line per problem. */
export function parseEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/** Settings every Lectern process shares. Defaults work on a developer machine. */
export const baseEnv = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().default('lectern:'),
  /** Public Ed25519 JWK (JSON) that verifies the gateway-signed actor context. */
  ACTOR_VERIFY_KEY: z.string().optional(),
  /** This process's own service credential (Ed25519 private JWK) for calling internal endpoints (service-auth.ts). */
  SERVICE_SIGNING_KEY: z.string().optional(),
  /** Processes serving internal endpoints: caller service name → public JWK, as JSON (service-auth.ts). */
  SERVICE_VERIFY_KEYS: z.string().optional(),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
});

/** Settings of a process that talks to PostgreSQL as one subgraph's runtime role. */
export const databaseEnv = z.object({
  DATABASE_URL: z.string().default('postgres://127.0.0.1:5432/lectern'),
  /** Password of the subgraph's runtime role (trust auth on developer machines needs none). */
  DATABASE_PASSWORD: z.string().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().positive().default(10),
  DATABASE_OWNER_USER: z.string().default('lectern_owner'),
  DATABASE_OWNER_PASSWORD: z.string().optional(),
  /** Superuser connection used only by `db bootstrap` to create roles and the database. */
  DATABASE_ADMIN_URL: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
  /** Password of the outbox relay's role (defaults to DATABASE_PASSWORD). */
  RELAY_DATABASE_PASSWORD: z.string().optional(),
  /** Run pending migrations at start (development default; production runs them as a job). */
  MIGRATE_ON_START: bool.default(false),
});

export type BaseEnv = z.infer<typeof baseEnv>;
export type DatabaseEnv = z.infer<typeof databaseEnv>;
export { z, bool };

/** The raw environment, for the few entry points (CLI scripts) that pass it on to parseEnv. */
export const rawEnv = (): Record<string, string | undefined> => process.env;
