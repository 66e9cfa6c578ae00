// Notifications configuration, parsed once at start (the one place that reads the environment).
// The subgraph (main.ts) and the worker (worker.ts) share it: each uses what it needs.
import { isAbsolute, resolve } from 'node:path';
import { workerKernelEnv } from '@lectern/kernel/worker';
import { baseEnv, databaseEnv, parseEnv, rawEnv, z } from '@lectern/kernel/env';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
/** Unset and empty are the same (compose files and shells pass empty strings). */
const optional = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

// One environment for the subgraph and its worker (the worker's retention and recovery settings included).
export const notificationsEnv = baseEnv.extend(databaseEnv.shape).extend(workerKernelEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4005),
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(5005),
  /** identity's GraphQL URL; its internal endpoints live on the same origin. */
  IDENTITY_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
  /** catalog's GraphQL URL; its internal endpoints live on the same origin (course titles for emails). */
  CATALOG_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /** smtp(s)://user:pass@host:port; unset: messages are written as .eml files to MAIL_DIR. */
  SMTP_URL: optional.refine((v) => v === undefined || /^smtps?:\/\//.test(v), 'SMTP_URL must start with smtp:// or smtps://'),
  /** Development mail sink; relative paths are relative to the repository root. */
  MAIL_DIR: z
    .string()
    .default('.lectern/mail')
    .transform((p) => (isAbsolute(p) ? p : resolve(REPO_ROOT, p))),
  MAIL_FROM: z.string().min(3).default('Lectern <no-reply@lectern.local>'),
  /** Where people open Lectern (links in emails and notifications). */
  PUBLIC_APP_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:4000')
    .transform((u) => u.replace(/\/+$/, '')),
  /** How often each organization's digest job runs; 0 schedules nothing (tests run the job themselves). */
  DIGEST_INTERVAL_MINUTES: z.coerce.number().int().min(0).max(24 * 60).default(15),
});
export type NotificationsEnv = z.infer<typeof notificationsEnv>;

/** The environment merged with `overrides` (tests point the processes at their own database). */
export function loadEnv(overrides: Record<string, string | undefined> = {}): NotificationsEnv {
  return parseEnv(notificationsEnv, { ...rawEnv(), ...overrides });
}
