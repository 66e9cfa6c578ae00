// Media configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';
import { storageEnv } from '@lectern/storage';
import { VIDEO_CONTAINERS } from './modules/pipeline/probe.ts';

/** The development signing secret: production refuses to start with it (see `signingSecret`). */
export const DEV_MEDIA_SIGNING_SECRET = 'lectern-dev-media-signing-secret-do-not-use-in-production';

export const mediaEnv = baseEnv
  .extend(databaseEnv.shape)
  .extend(workerKernelEnv.shape)
  .extend(storageEnv('.lectern/media').shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(4008),
    WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5008),
    /** catalog's GraphQL URL; its internal endpoints live on the same origin (the videos of a published version). */
    CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
    /**
     * The origin clients reach this process's public routes at (tus uploads under /media/uploads,
     * signed playback under /media/play): the ingress (or CDN) in production. Unset: the
     * subgraph's own address (http://HOST:PORT), right on a developer machine. Upload and playback
     * URLs the API hands out start with it.
     */
    MEDIA_PUBLIC_URL: z.string().url().optional(),
    /**
     * The secret each organization's upload and playback signing keys are derived from (HMAC).
     * Required in production; a CDN verifying playback URLs derives the same per-organization key.
     */
    MEDIA_SIGNING_SECRET: z.string().min(32).optional(),
    /** How long a playback URL lives beyond the video's own duration (seconds). */
    PLAYBACK_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
    /** How long an unfinished upload may be resumed (hours); after that it is FAILED and its parts deleted. */
    UPLOAD_EXPIRY_HOURS: z.coerce.number().int().min(1).max(24 * 14).default(24),
    /** An organization's largest upload until its ORG_ADMIN sets another (bytes; default 5 GiB). */
    MEDIA_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(5 * 1024 ** 3),
    /** The containers an organization accepts until its ORG_ADMIN says otherwise (comma-separated). */
    MEDIA_ALLOWED_CONTAINERS: z
      .string()
      .default(VIDEO_CONTAINERS.join(','))
      .transform((s) => s.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean))
      .pipe(z.array(z.enum(VIDEO_CONTAINERS)).min(1)),
    /** Where the worker keeps a transcode's source and output while ffmpeg runs (local disk). */
    MEDIA_WORK_DIR: z.string().optional(),
    /** ffmpeg's threads per transcode (0: ffmpeg decides, every core). */
    TRANSCODE_THREADS: z.coerce.number().int().min(0).max(64).default(0),
    /** Transcodes one worker runs at once (each uses every core ffmpeg is given). */
    TRANSCODE_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
    /**
     * BullMQ's job lock (ms): how soon a killed worker's transcode is given to another worker
     * (renewed every half of it while the job runs, so a long transcode keeps it).
     */
    TRANSCODE_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    /**
     * How often the worker re-enqueues videos waiting to be transcoded or purged whose job
     * Redis never got or lost (ms). Duplicates are harmless: one job id per video.
     */
    MEDIA_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  });
export type MediaEnv = z.infer<typeof mediaEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database and storage). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): MediaEnv {
  return parseEnv(mediaEnv, { ...rawEnv(), ...overrides });
}

/** The signing secret, or the development one outside production. */
export function signingSecret(env: Pick<MediaEnv, 'MEDIA_SIGNING_SECRET' | 'NODE_ENV'>): string {
  if (env.MEDIA_SIGNING_SECRET) return env.MEDIA_SIGNING_SECRET;
  if (env.NODE_ENV === 'production') throw new Error('MEDIA_SIGNING_SECRET must be set in production (at least 32 characters)');
  return DEV_MEDIA_SIGNING_SECRET;
}
