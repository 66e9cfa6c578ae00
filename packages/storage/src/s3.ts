// The S3-compatible adapter of Lectern's object storage (the port: port.ts): AWS S3, MinIO, R2, … and s3rver
// in tests, on @aws-sdk/client-s3 v3. Streams and files go through @aws-sdk/lib-storage's Upload,
// which sends one PutObject for small bodies and a multipart upload (5 MiB parts) for large ones;
// S3 makes every write atomic by itself. An optional prefix (S3_PREFIX) puts every key in a folder of the bucket.
// Timeouts are set so a down or unreachable S3 fails within seconds instead of hanging a request:
// 5 s to connect, 60 s to the first response byte, 60 s of silence on a socket.
// Checksums are sent only where S3 requires them: S3-compatible services do not all understand the
// SDK's newer default (aws-chunked bodies with trailing CRC32 checksums).
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  assertKey,
  assertPrefix,
  contentTypeFor,
  RangeNotSatisfiableError,
  resolveRange,
  type ObjectBody,
  type ObjectStorage,
  type PutBody,
  type StorageConfig,
  type StoredObject,
} from './port.ts';

const PART_SIZE = 5 * 1024 * 1024; // S3's minimum part size; also the single-PUT threshold of Upload
const DELETE_BATCH = 1000; // DeleteObjects' limit

type S3Config = Extract<StorageConfig, { driver: 's3' }>;

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}
const status = (err: unknown): number | undefined => (err as SdkError | null)?.$metadata?.httpStatusCode;
const errName = (err: unknown): string | undefined => (err as SdkError | null)?.name;
const isMissing = (err: unknown): boolean =>
  errName(err) === 'NoSuchKey' || errName(err) === 'NotFound' || (status(err) === 404 && errName(err) !== 'NoSuchBucket');
/** A short reason for an SDK or network error ("ECONNREFUSED", "NoSuchBucket (404)", …). */
function reason(err: unknown): string {
  const e = (err ?? {}) as SdkError & { cause?: SdkError };
  const label = e.code ?? e.cause?.code ?? e.name ?? 'Error';
  const http = status(err);
  const head = http ? `${label} (${http})` : label;
  const message = e.message && e.message !== label && e.message !== 'UnknownError' ? e.message : '';
  return message ? `${head}: ${message}` : head;
}

export class S3Storage implements ObjectStorage {
  readonly driver = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;
  readonly #root: string;

  constructor(config: S3Config) {
    if (!config.bucket) throw new Error('S3 storage needs a bucket');
    if (!!config.accessKeyId !== !!config.secretAccessKey) {
      throw new Error('S3 storage: give both an access key id and a secret access key, or neither (the SDK default chain)');
    }
    this.bucket = config.bucket;
    const root = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.#root = root ? `${assertKey(root)}/` : '';
    this.client = new S3Client({
      region: config.region || 'us-east-1',
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle ?? false,
      ...(config.accessKeyId && config.secretAccessKey
        ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
        : {}),
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true, socketTimeout: 60_000 },
      maxAttempts: 3,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  #key(key: string): string {
    return this.#root + assertKey(key);
  }

  async put(key: string, body: PutBody, opts?: { contentType?: string }): Promise<number> {
    const Key = this.#key(key);
    const ContentType = opts?.contentType ?? contentTypeFor(key);
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      await this.#send(`put '${key}'`, () =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength: bytes.byteLength, ContentType })),
      );
      return bytes.byteLength;
    }
    if (!(body instanceof Readable)) throw new TypeError(`put('${key}'): body must be a Buffer, Uint8Array, string or Readable`);
    let bytes = 0;
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of body as AsyncIterable<Buffer | string>) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
          bytes += buf.byteLength;
          yield buf;
        }
      })(),
    );
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: counted, ContentType },
      partSize: PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false, // abort the multipart upload on failure: no orphaned parts
    });
    await this.#send(`put '${key}'`, () => upload.done());
    return bytes;
  }

  async putFile(key: string, file: string, opts?: { contentType?: string }): Promise<number> {
    this.#key(key);
    const fh = await open(file, 'r').catch((err: unknown) => {
      throw new Error(`putFile('${key}'): cannot read ${file}: ${(err as SdkError).code ?? String(err)}`, { cause: err });
    });
    // The stream owns the descriptor from here and closes it when done or destroyed.
    return this.put(key, fh.createReadStream(), opts);
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<ObjectBody | null> {
    const Key = this.#key(key);
    if (range) resolveRange(key, range, Number.MAX_SAFE_INTEGER); // validates the numbers only
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}) }),
      );
    } catch (err) {
      if (isMissing(err)) return null;
      if (range && (status(err) === 416 || errName(err) === 'InvalidRange')) {
        const head = await this.head(key);
        if (!head) return null;
        throw new RangeNotSatisfiableError(key, range.start, head.size);
      }
      throw new Error(`S3 get '${key}' failed: ${reason(err)}`, { cause: err });
    }
    const body = out.Body;
    if (!(body instanceof Readable)) throw new Error(`S3 get '${key}': the response has no readable body`);
    const contentType = out.ContentType ?? null;
    if (!range) return { body, size: out.ContentLength ?? 0, contentType, range: null };
    const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(out.ContentRange ?? '');
    if (!match) {
      body.destroy();
      throw new Error(`S3 get '${key}': the endpoint ignored the Range header (no Content-Range in its answer)`);
    }
    const size = Number(match[3]);
    if (range.start >= size) {
      // S3 answers 416 here; some compatible servers (s3rver) answer "bytes 0-0/0" for an empty object.
      body.destroy();
      throw new RangeNotSatisfiableError(key, range.start, size);
    }
    return { body, size, contentType, range: { start: Number(match[1]), end: Number(match[2]) } };
  }

  async head(key: string): Promise<{ size: number; contentType: string | null } | null> {
    const Key = this.#key(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { size: out.ContentLength ?? 0, contentType: out.ContentType ?? null };
    } catch (err) {
      if (isMissing(err)) return null;
      throw new Error(`S3 head '${key}' failed: ${reason(err)}`, { cause: err });
    }
  }

  async getToFile(key: string, file: string): Promise<boolean> {
    const object = await this.get(key);
    if (!object) return false;
    try {
      await mkdir(path.dirname(path.resolve(file)), { recursive: true });
      await pipeline(object.body, createWriteStream(file));
      return true;
    } catch (err) {
      object.body.destroy();
      await rm(file, { force: true }).catch(() => {});
      throw new Error(`S3 download of '${key}' to ${file} failed: ${reason(err)}`, { cause: err });
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const Prefix = this.#root + assertPrefix(prefix);
    const found: StoredObject[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.#send(`list '${prefix}'`, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ...(ContinuationToken ? { ContinuationToken } : {}) })),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key?.startsWith(Prefix)) found.push({ key: item.Key.slice(this.#root.length), size: item.Size ?? 0 });
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    const all = keys.map((key) => this.#key(key)); // validate every key before deleting any
    for (let i = 0; i < all.length; i += DELETE_BATCH) {
      const batch = all.slice(i, i + DELETE_BATCH);
      const out = await this.#send(`delete ${batch.length} objects`, () =>
        this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        ),
      );
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new Error(`S3 delete failed for ${failed.length} object(s), first '${first.Key}': ${first.Code} ${first.Message ?? ''}`.trim());
      }
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    await this.delete(objects.map((o) => o.key));
    return objects.length;
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      throw new Error(`S3 bucket '${this.bucket}' is not reachable: ${reason(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Runs one SDK call; turns its failure into an error saying what was being done and why it failed. */
  async #send<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new Error(`S3 ${what} failed: ${reason(err)}`, { cause: err });
    }
  }
}
