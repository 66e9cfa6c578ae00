// The object-storage port: the `ObjectStorage` interface every adapter implements, and the rules
// they share — which keys are valid (assertKey: no key can climb out of the storage root or into
// another organization's prefix; tenantKey), the content type of a key's extension, byte ranges,
// and the adapter configuration (StorageConfig).
// It is a module of its own so the adapters (local.ts, s3.ts) and the entry point that picks one
// (storage.ts, which re-exports all of this) depend on it without depending on each other:
// packages/ must stay acyclic (`pnpm boundaries`). Import it through `@lectern/storage`.
import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
}

export interface ObjectBody {
  body: Readable;
  /** Size of the whole object (not of the range). */
  size: number;
  contentType: string | null;
  /** Inclusive byte range served, when a range was asked. */
  range: { start: number; end: number } | null;
}

export type PutBody = Buffer | Uint8Array | string | Readable;

export interface ObjectStorage {
  readonly driver: 'local' | 's3';
  /** Writes an object whole and atomically: readers see the old object or the new one, never part of one.
   *  Returns the bytes written. */
  put(key: string, body: PutBody, opts?: { contentType?: string }): Promise<number>;
  /** put() of a local file (streamed; large files fine: S3 uses multipart via @aws-sdk/lib-storage). */
  putFile(key: string, path: string, opts?: { contentType?: string }): Promise<number>;
  /** The object (or the inclusive byte range [start, end]; end beyond the size is clamped), or null when missing.
   *  An unsatisfiable range (start ≥ size) throws RangeNotSatisfiableError.
   *  Read the body to its end or destroy() it: it holds a file descriptor (local) or a socket (S3). */
  get(key: string, range?: { start: number; end?: number }): Promise<ObjectBody | null>;
  /** Size, or null when missing. */
  head(key: string): Promise<{ size: number; contentType: string | null } | null>;
  /** Downloads the object to a local file (for tools that want a path, such as ffmpeg); false when missing. */
  getToFile(key: string, path: string): Promise<boolean>;
  /** Every object under `prefix` (which must end with '/'), sorted by key, paging through S3 listings. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes these keys (missing ones are fine); S3: DeleteObjects in batches of 1000. */
  delete(keys: string[]): Promise<void>;
  /** Deletes every object under `prefix` (must end with '/'); returns how many. Local: removes emptied directories. */
  deletePrefix(prefix: string): Promise<number>;
  /** Resolves when the storage answers (readiness): local dir writable; S3 HeadBucket. Throws a short reason. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** A range starting at or beyond the end of the object (HTTP 416). `size` is the whole object's size. */
export class RangeNotSatisfiableError extends Error {
  readonly size: number;
  constructor(key: string, start: number, size: number) {
    super(`range starting at byte ${start} is not satisfiable: '${key}' is ${size} bytes`);
    this.name = 'RangeNotSatisfiableError';
    this.size = size;
  }
}

const SEGMENT = /^[A-Za-z0-9._=-]{1,200}$/;
const MAX_KEY_LENGTH = 1024;

/** Keys are '/'-separated segments of [A-Za-z0-9._=-], each 1..200 chars, not '.' or '..', no leading '/',
 *  at most 1024 chars in all. Throws on anything else (so no key can escape the root or another organization's prefix). */
export function assertKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new Error('invalid storage key: empty');
  const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
  if (key.length > MAX_KEY_LENGTH) throw new Error(`invalid storage key ${shown}: longer than ${MAX_KEY_LENGTH} characters`);
  for (const segment of key.split('/')) {
    if (segment === '') throw new Error(`invalid storage key ${shown}: empty segment (leading, trailing or double '/')`);
    if (segment === '.' || segment === '..') throw new Error(`invalid storage key ${shown}: '${segment}' segment`);
    if (!SEGMENT.test(segment)) {
      throw new Error(`invalid storage key ${shown}: segments are 1..200 characters of A-Z a-z 0-9 . _ = -`);
    }
  }
  return key;
}

/** A listing prefix: a valid key followed by '/'. Returns it unchanged. */
export function assertPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !prefix.endsWith('/')) {
    throw new Error(`invalid storage prefix ${JSON.stringify(prefix)}: must end with '/'`);
  }
  assertKey(prefix.slice(0, -1));
  return prefix;
}

/** `<tenantId>/<parts...>` through assertKey: every object of an organization lives under its prefix. */
export function tenantKey(tenantId: string, ...parts: string[]): string {
  if (typeof tenantId !== 'string' || tenantId.includes('/')) {
    throw new Error(`invalid tenant id for a storage key: ${JSON.stringify(tenantId)}`);
  }
  return assertKey([tenantId, ...parts].join('/'));
}

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/mp4',
  mp4: 'video/mp4',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  vtt: 'text/vtt',
  json: 'application/json',
  pdf: 'application/pdf',
};

/** The content type inferred from a key's extension (both adapters use it when put() is given none). */
export function contentTypeFor(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/** Checks a requested range and resolves it against the object's size (shared by both adapters). */
export function resolveRange(key: string, range: { start: number; end?: number }, size: number): { start: number; end: number } {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new Error(`invalid byte range ${JSON.stringify(range)} for '${key}': need integers 0 ≤ start ≤ end`);
  }
  if (start >= size) throw new RangeNotSatisfiableError(key, start, size);
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

export type StorageConfig =
  | { driver: 'local'; dir: string }
  | {
      driver: 's3';
      bucket: string;
      region: string;
      endpoint?: string;
      forcePathStyle?: boolean;
      accessKeyId?: string;
      secretAccessKey?: string;
      prefix?: string;
    };
