// Object storage for Lectern's subgraphs: media's uploaded videos, HLS renditions, thumbnails and
// captions, certification's certificate PDFs. A shared kernel package (no business logic), so each
// subgraph gets the same port without importing another subgraph (DESIGN.md: "a local directory by
// default, S3-compatible through configuration").
// A subgraph talks only to `ObjectStorage` (port.ts, re-exported here with the key rules, content
// types and ranges); two adapters implement it — a local directory (development, tests, single-node
// installs: local.ts) and any S3-compatible bucket (s3.ts). This file, the package's entry point,
// adds the environment shape (storageEnv(defaultDir): each subgraph names its own local folder, the
// variable names are the same for all) and the factory that picks an adapter (createStorage).
import path from 'node:path';
import { bool, ConfigError, z } from '@lectern/kernel/env';
import { LocalStorage } from './local.ts';
import type { ObjectStorage, StorageConfig } from './port.ts';
import { S3Storage } from './s3.ts';

export {
  assertKey,
  assertPrefix,
  contentTypeFor,
  RangeNotSatisfiableError,
  resolveRange,
  tenantKey,
  type ObjectBody,
  type ObjectStorage,
  type PutBody,
  type StorageConfig,
  type StoredObject,
} from './port.ts';

export function createStorage(config: StorageConfig): ObjectStorage {
  switch (config.driver) {
    case 'local':
      return new LocalStorage(config.dir);
    case 's3':
      return new S3Storage(config);
    default:
      throw new ConfigError(`unknown storage driver: ${String((config as { driver: unknown }).driver)}`);
  }
}

/** The refinement "the s3 driver needs S3_BUCKET", for schemas built from `storageEnv(dir).shape` (which drops it). */
export function requireS3Bucket(env: { STORAGE_DRIVER: 'local' | 's3'; S3_BUCKET?: string | undefined }, ctx: z.RefinementCtx): void {
  if (env.STORAGE_DRIVER === 's3' && !env.S3_BUCKET) {
    ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'required when STORAGE_DRIVER=s3' });
  }
}

/** The storage settings, with `defaultDir` as STORAGE_DIR's default: every subgraph keeps its local objects
 *  in its own folder (media '.lectern/media', certification '.lectern/certificates'), so two subgraphs on one
 *  machine never share a root. The variable names are the same for every subgraph (each process reads its own
 *  environment). Extend it (`storageEnv(dir).extend({...})` keeps the S3_BUCKET refine; a schema built from
 *  `storageEnv(dir).shape` should add `.superRefine(requireS3Bucket)`; storageConfig checks again anyway). */
export function storageEnv(defaultDir: string) {
  if (typeof defaultDir !== 'string' || defaultDir.trim() === '') throw new Error('storageEnv needs a default local directory');
  return z
    .object({
      STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
      /** Root of the local driver, resolved against the working directory. */
      STORAGE_DIR: z.string().default(defaultDir),
      S3_BUCKET: z.string().optional(),
      S3_REGION: z.string().default('us-east-1'),
      /** For S3-compatible services (MinIO, R2, …); absent → AWS. */
      S3_ENDPOINT: z.string().optional(),
      S3_FORCE_PATH_STYLE: bool.default(false),
      /** Absent → the AWS SDK's default credential chain (environment, profile, instance role). */
      S3_ACCESS_KEY_ID: z.string().optional(),
      S3_SECRET_ACCESS_KEY: z.string().optional(),
      /** Optional folder inside the bucket every key is stored under. */
      S3_PREFIX: z.string().optional(),
    })
    .superRefine(requireS3Bucket);
}
export type StorageEnv = z.infer<ReturnType<typeof storageEnv>>;

/** The adapter configuration from a parsed environment (empty strings count as absent). */
export function storageConfig(env: StorageEnv): StorageConfig {
  const opt = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());
  if (env.STORAGE_DRIVER === 'local') return { driver: 'local', dir: path.resolve(env.STORAGE_DIR) };
  const bucket = opt(env.S3_BUCKET);
  if (!bucket) throw new ConfigError('Invalid configuration:\n  S3_BUCKET: required when STORAGE_DRIVER=s3');
  const config: StorageConfig = { driver: 's3', bucket, region: opt(env.S3_REGION) ?? 'us-east-1', forcePathStyle: env.S3_FORCE_PATH_STYLE };
  const endpoint = opt(env.S3_ENDPOINT);
  const accessKeyId = opt(env.S3_ACCESS_KEY_ID);
  const secretAccessKey = opt(env.S3_SECRET_ACCESS_KEY);
  const prefix = opt(env.S3_PREFIX);
  if (endpoint) config.endpoint = endpoint;
  if (accessKeyId) config.accessKeyId = accessKeyId;
  if (secretAccessKey) config.secretAccessKey = secretAccessKey;
  if (prefix) config.prefix = prefix;
  return config;
}
