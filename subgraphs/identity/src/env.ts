import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, z } from '@lectern/kernel/env';

export const identityEnv = baseEnv.extend(databaseEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).default(4001),
  /** Ed25519 private JWK (JSON) that signs access tokens; a development key is used when unset outside production. */
  IDENTITY_JWT_PRIVATE_KEY: z.string().optional(),
  /**
   * JSON array of public Ed25519 JWKs published in the JWKS besides the signing key's: the next
   * key (published before it signs, so verifiers know it in time) and the previous one (until its
   * last access tokens expire). Each is published with its RFC 7638 thumbprint as `kid`.
   */
  IDENTITY_JWT_PUBLISHED_KEYS: z.string().optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().positive().default(30),
  /** Failed logins per account before it is locked for the window. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().positive().default(5),
  LOGIN_MAX_ATTEMPTS_PER_IP: z.coerce.number().int().positive().default(30),
  LOGIN_THROTTLE_WINDOW_SECONDS: z.coerce.number().int().positive().default(900),
});
export type IdentityEnv = z.infer<typeof identityEnv>;

export function loadEnv(overrides: Record<string, string | undefined> = {}): IdentityEnv {
  return parseEnv(identityEnv, { ...process.env, ...overrides });
}

export const identityWorkerEnv = baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape).extend({
  WORKER_PORT: z.coerce.number().int().min(0).default(5001),
});
export type IdentityWorkerEnv = z.infer<typeof identityWorkerEnv>;

export function loadWorkerEnv(overrides: Record<string, string | undefined> = {}): IdentityWorkerEnv {
  return parseEnv(identityWorkerEnv, { ...process.env, ...overrides });
}
