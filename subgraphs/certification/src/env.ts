// Certification configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, bool, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';
import { storageEnv } from '@lectern/storage';

/** The development secret: production refuses to start with it (see `certificationSecret`). */
export const DEV_CERTIFICATION_SECRET = 'lectern-dev-certification-secret-do-not-use-in-production';

export const certificationEnv = baseEnv
  .extend(databaseEnv.shape)
  .extend(workerKernelEnv.shape)
  .extend(storageEnv('.lectern/certificates').shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(4009),
    WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5009),
    /** catalog's GraphQL URL; its internal endpoints live on the same origin (course titles, a version's quizzes). */
    CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
    /** identity's GraphQL URL (the organization's name, the learner's name and email at issue time). */
    IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
    /**
     * The origin the public routes are reached at (verification page and endpoint, status lists,
     * PDF downloads, all under /certification/): the ingress in production. It is printed in every
     * certificate's QR code and credential, so it must stay stable for years. Unset: the
     * subgraph's own address (http://HOST:PORT), right on a developer machine only.
     */
    CERTIFICATION_PUBLIC_URL: z.string().url().optional(),
    /**
     * The secret issuer keys are sealed with (AES-256-GCM, a key per organization derived from it)
     * and PDF download URLs are signed with. Required in production; losing it loses every
     * organization's issuer key (issued credentials still verify: their keys are public).
     */
    CERTIFICATION_SECRET: z.string().min(32).optional(),
    /**
     * Honour X-Forwarded-For on the public routes (the verifier's per-address limit) only behind
     * an ingress that replaces it: otherwise any client could pick its own address.
     */
    TRUST_PROXY: bool.default(false),
    /** The public verifier's limit per client address (POST /certification/verify and verifyCredential): per minute, and burst. */
    VERIFY_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
    VERIFY_BURST: z.coerce.number().int().min(1).max(100_000).default(20),
    /** How long a PDF download URL lives (seconds). */
    CERTIFICATE_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
    /** Certificates one worker generates at once (each signs a credential and renders a PDF). */
    CERTIFICATE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    /** BullMQ's job lock (ms): how soon a killed worker's certificate is given to another worker. */
    CERTIFICATE_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    /** How often the worker re-enqueues certificates whose job Redis never got or lost (ms). */
    CERTIFICATE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  });
export type CertificationEnv = z.infer<typeof certificationEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database and storage). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): CertificationEnv {
  return parseEnv(certificationEnv, { ...rawEnv(), ...overrides });
}

/** The secret, or the development one outside production. */
export function certificationSecret(env: Pick<CertificationEnv, 'CERTIFICATION_SECRET' | 'NODE_ENV'>): string {
  if (env.CERTIFICATION_SECRET) return env.CERTIFICATION_SECRET;
  if (env.NODE_ENV === 'production') throw new Error('CERTIFICATION_SECRET must be set in production (at least 32 characters)');
  return DEV_CERTIFICATION_SECRET;
}
