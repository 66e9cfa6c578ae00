// The one contract every ObjectStorage adapter keeps, run against both: a local temporary directory
// and an in-process fake S3 (s3rver). Also the key rules (assertKey, tenantKey), the content types,
// the environment parsing, the local adapter's atomic writes and directory pruning, the S3 adapter's
// multipart uploads and key prefix, and a down S3 failing fast.
// The subgraphs (media, certification) trust this suite: their own tests only prove they run on it.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from '@lectern/kernel/env';
import { LocalStorage } from './local.ts';
import { S3Storage } from './s3.ts';
import {
  assertKey,
  contentTypeFor,
  createStorage,
  RangeNotSatisfiableError,
  requireS3Bucket,
  storageConfig,
  storageEnv as storageEnvFor,
  tenantKey,
  type ObjectStorage,
  type StorageConfig,
} from './storage.ts';
import { startTestS3 } from './test-s3.ts';

interface Backend {
  config: StorageConfig;
  close(): Promise<void>;
}

async function startLocal(): Promise<Backend> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lectern-storage-'));
  return { config: { driver: 'local', dir }, close: () => rm(dir, { recursive: true, force: true }) };
}

const text = async (storage: ObjectStorage, key: string, range?: { start: number; end?: number }): Promise<string | null> => {
  const object = await storage.get(key, range);
  return object ? (await buffer(object.body)).toString('utf8') : null;
};

/** A stream the test feeds by hand: `reads` resolves once the consumer has asked for data `n` times. */
function controlledStream(chunks: Buffer[]): { stream: Readable; asked(n: number): Promise<void> } {
  let reads = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const stream = new Readable({
    read() {
      reads++;
      const next = chunks.shift();
      if (next) this.push(next);
      for (const w of waiters.filter((w) => reads >= w.n)) w.resolve();
    },
  });
  return {
    stream,
    asked: (n) => (reads >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

describe.each([
  { name: 'local', start: startLocal },
  { name: 's3', start: startTestS3 },
])('$name storage contract', ({ start }) => {
  let backend: Backend;
  let storage: ObjectStorage;
  let work: string;
  let n = 0;
  /** A fresh prefix per test, so tests never see each other's objects. */
  const fresh = (): string => `t${++n}`;

  beforeAll(async () => {
    backend = await start();
    storage = createStorage(backend.config);
    work = await mkdtemp(path.join(tmpdir(), 'lectern-storage-work-'));
  });
  afterAll(async () => {
    await storage?.close();
    await backend?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('reports its driver and is ready', async () => {
    expect(storage.driver).toBe(backend.config.driver);
    await expect(storage.check()).resolves.toBeUndefined();
  });

  it('round-trips a Buffer, a Uint8Array, a string, a stream and a file', async () => {
    const p = fresh();
    const bin = randomBytes(3000);
    expect(await storage.put(`${p}/buffer.ts`, bin)).toBe(3000);
    expect(await storage.put(`${p}/bytes.m4s`, new Uint8Array([1, 2, 3]))).toBe(3);
    expect(await storage.put(`${p}/string.vtt`, 'WEBVTT\n\nnaïve')).toBe(Buffer.byteLength('WEBVTT\n\nnaïve'));
    expect(await storage.put(`${p}/stream.m3u8`, Readable.from([Buffer.from('#EXTM3U\n'), '#EXT-X-VERSION:7\n']))).toBe(25);
    const file = path.join(work, `${p}.json`);
    await writeFile(file, '{"ok":true}');
    expect(await storage.putFile(`${p}/file.json`, file)).toBe(11);

    const got = await storage.get(`${p}/buffer.ts`);
    expect(got).not.toBeNull();
    expect(got!.size).toBe(3000);
    expect(got!.range).toBeNull();
    expect(got!.contentType).toBe('video/mp2t');
    expect((await buffer(got!.body)).equals(bin)).toBe(true);
    expect([...(await buffer((await storage.get(`${p}/bytes.m4s`))!.body))]).toEqual([1, 2, 3]);
    expect(await text(storage, `${p}/string.vtt`)).toBe('WEBVTT\n\nnaïve');
    expect(await text(storage, `${p}/stream.m3u8`)).toBe('#EXTM3U\n#EXT-X-VERSION:7\n');
    expect(await text(storage, `${p}/file.json`)).toBe('{"ok":true}');
    const playlist = await storage.get(`${p}/stream.m3u8`);
    playlist!.body.destroy(); // a body not read must be destroyed: it holds a file descriptor or a socket
    expect(playlist!.contentType).toBe('application/vnd.apple.mpegurl');
  });

  it('stores an empty object', async () => {
    const key = `${fresh()}/empty.json`;
    expect(await storage.put(key, '')).toBe(0);
    expect(await storage.head(key)).toEqual({ size: 0, contentType: 'application/json' });
    expect(await text(storage, key)).toBe('');
    await expect(storage.get(key, { start: 0 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
  });

  it('reads byte ranges: first bytes, middle, open end, clamped end; refuses unsatisfiable ones', async () => {
    const key = `${fresh()}/alphabet`;
    await storage.put(key, 'abcdefghij');
    const first = await storage.get(key, { start: 0, end: 3 });
    expect({ size: first!.size, range: first!.range, text: (await buffer(first!.body)).toString() }).toEqual({
      size: 10,
      range: { start: 0, end: 3 },
      text: 'abcd',
    });
    expect(await text(storage, key, { start: 4, end: 6 })).toBe('efg');
    expect(await text(storage, key, { start: 5, end: 5 })).toBe('f');
    const open = await storage.get(key, { start: 7 });
    expect(open!.range).toEqual({ start: 7, end: 9 });
    expect((await buffer(open!.body)).toString()).toBe('hij');
    const clamped = await storage.get(key, { start: 8, end: 1000 });
    expect(clamped!.range).toEqual({ start: 8, end: 9 });
    expect(clamped!.size).toBe(10);
    expect((await buffer(clamped!.body)).toString()).toBe('ij');

    const err = await storage.get(key, { start: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeNotSatisfiableError);
    expect((err as RangeNotSatisfiableError).size).toBe(10);
    await expect(storage.get(key, { start: 50, end: 60 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    await expect(storage.get(key, { start: -1 })).rejects.toThrow(/invalid byte range/);
    await expect(storage.get(key, { start: 5, end: 4 })).rejects.toThrow(/invalid byte range/);
  });

  it('answers null / false for a missing object', async () => {
    const key = `${fresh()}/nothing.mp4`;
    expect(await storage.get(key)).toBeNull();
    expect(await storage.get(key, { start: 0, end: 9 })).toBeNull();
    expect(await storage.head(key)).toBeNull();
    const dest = path.join(work, 'missing.mp4');
    expect(await storage.getToFile(key, dest)).toBe(false);
    await expect(stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('heads an object: size and content type', async () => {
    const p = fresh();
    await storage.put(`${p}/poster.jpg`, Buffer.alloc(1234));
    expect(await storage.head(`${p}/poster.jpg`)).toEqual({ size: 1234, contentType: 'image/jpeg' });
  });

  it('lists every object under a prefix, sorted by key, with sizes, and nothing of a sibling prefix', async () => {
    const p = fresh();
    const objects: [string, string][] = [
      [`${p}/a/b/seg-2.ts`, '22'],
      [`${p}/a/b/B.ts`, 'B'],
      [`${p}/a/b/sub/deep.vtt`, 'deep'],
      [`${p}/a/b/seg-1.ts`, '1'],
      [`${p}/a/bc/other.ts`, 'sibling'],
      [`${p}/a/b.json`, '{}'],
      [`${p}/a.json`, '{}'],
    ];
    for (const [key, body] of objects) await storage.put(key, body);
    expect(await storage.list(`${p}/a/b/`)).toEqual([
      { key: `${p}/a/b/B.ts`, size: 1 }, // byte order, as S3 lists: upper case first
      { key: `${p}/a/b/seg-1.ts`, size: 1 },
      { key: `${p}/a/b/seg-2.ts`, size: 2 },
      { key: `${p}/a/b/sub/deep.vtt`, size: 4 },
    ]);
    expect((await storage.list(`${p}/`)).map((o) => o.key)).toEqual(objects.map(([k]) => k).sort());
    expect(await storage.list(`${p}/nothing/`)).toEqual([]);
  });

  it('refuses invalid keys and prefixes in every operation', async () => {
    await expect(storage.put('../escape', 'x')).rejects.toThrow(/invalid storage key/);
    await expect(storage.putFile('/abs', import.meta.filename)).rejects.toThrow(/invalid storage key/);
    await expect(storage.get('a/../../b')).rejects.toThrow(/invalid storage key/);
    await expect(storage.head('a//b')).rejects.toThrow(/invalid storage key/);
    await expect(storage.getToFile('a\\b', path.join(work, 'x'))).rejects.toThrow(/invalid storage key/);
    await expect(storage.delete(['ok', '..'])).rejects.toThrow(/invalid storage key/);
    await expect(storage.list('no-slash')).rejects.toThrow(/must end with '\/'/);
    await expect(storage.list('../')).rejects.toThrow(/invalid storage key/);
    await expect(storage.list('/')).rejects.toThrow(/invalid storage key/);
    await expect(storage.deletePrefix('')).rejects.toThrow(/must end with '\/'/);
    await expect(storage.deletePrefix('a/../')).rejects.toThrow(/invalid storage key/);
  });

  it('deletes keys, missing ones included, leaving the others', async () => {
    const p = fresh();
    for (const k of ['1.ts', '2.ts', '3.ts']) await storage.put(`${p}/${k}`, k);
    await storage.delete([`${p}/1.ts`, `${p}/3.ts`, `${p}/never.ts`]);
    expect(await storage.list(`${p}/`)).toEqual([{ key: `${p}/2.ts`, size: 4 }]);
    await storage.delete([]);
    expect(await storage.head(`${p}/2.ts`)).not.toBeNull();
  });

  it('deletes in batches beyond 1000 keys', async () => {
    const p = fresh();
    await storage.put(`${p}/kept`, 'k');
    const keys = Array.from({ length: 1001 }, (_, i) => `${p}/missing-${i}`);
    await storage.put(keys[1000]!, 'last');
    await storage.delete(keys);
    expect(await storage.list(`${p}/`)).toEqual([{ key: `${p}/kept`, size: 1 }]);
  });

  it('deletes a prefix, counting, and leaves sibling prefixes', async () => {
    const p = fresh();
    for (const key of [`${p}/a/b/1.ts`, `${p}/a/b/c/2.ts`, `${p}/a/bc/3.ts`, `${p}/a/b.json`]) await storage.put(key, 'x');
    expect(await storage.deletePrefix(`${p}/a/b/`)).toBe(2);
    expect((await storage.list(`${p}/`)).map((o) => o.key)).toEqual([`${p}/a/b.json`, `${p}/a/bc/3.ts`]);
    expect(await storage.deletePrefix(`${p}/a/b/`)).toBe(0);
    expect(await storage.deletePrefix(`${p}/never/`)).toBe(0);
  });

  it('downloads an object to a file (creating its folder)', async () => {
    const key = `${fresh()}/source.mp4`;
    const bytes = randomBytes(100_000);
    await storage.put(key, bytes);
    const dest = path.join(work, fresh(), 'nested', 'source.mp4');
    expect(await storage.getToFile(key, dest)).toBe(true);
    expect((await readFile(dest)).equals(bytes)).toBe(true);
  });

  it('replaces an object whole on overwrite', async () => {
    const key = `${fresh()}/master.m3u8`;
    await storage.put(key, 'x'.repeat(1000));
    await storage.put(key, 'new');
    expect(await text(storage, key)).toBe('new');
    expect((await storage.head(key))!.size).toBe(3);
    await storage.put(key, Readable.from(['even ', 'newer']));
    expect(await text(storage, key)).toBe('even newer');
  });

  it('stores a 12 MiB file (multipart on S3) byte for byte', { timeout: 60_000 }, async () => {
    const key = `${fresh()}/upload.mp4`;
    const file = path.join(work, 'big.bin');
    const bytes = randomBytes(12 * 1024 * 1024);
    await writeFile(file, bytes);
    const sent: string[] = [];
    if (storage instanceof S3Storage) {
      storage.client.middlewareStack.add(
        (next, context) => (args) => {
          sent.push(String(context.commandName));
          return next(args);
        },
        { step: 'initialize', name: 'recordCommands' },
      );
    }
    try {
      expect(await storage.putFile(key, file)).toBe(bytes.length);
    } finally {
      if (storage instanceof S3Storage) storage.client.middlewareStack.remove('recordCommands');
    }
    if (storage.driver === 's3') {
      expect(sent).toContain('CreateMultipartUploadCommand');
      expect(sent.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
      expect(sent).toContain('CompleteMultipartUploadCommand');
    }
    expect((await storage.head(key))!.size).toBe(bytes.length);
    const dest = path.join(work, 'big.copy');
    expect(await storage.getToFile(key, dest)).toBe(true);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(sha(await readFile(dest))).toBe(sha(bytes));
    // A range across the first part boundary (5 MiB).
    const boundary = 5 * 1024 * 1024;
    const slice = await storage.get(key, { start: boundary - 10, end: boundary + 9 });
    expect((await buffer(slice!.body)).equals(bytes.subarray(boundary - 10, boundary + 10))).toBe(true);
  });

  it('never shows part of an object being written: a reader sees the old one, then the new one', async () => {
    const key = `${fresh()}/atomic.ts`;
    await storage.put(key, 'old');
    const chunk = (c: string): Buffer => Buffer.alloc(64 * 1024, c);
    const chunks = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map(chunk);
    const total = chunks.length * 64 * 1024;
    const source = controlledStream([...chunks]);
    const putting = storage.put(key, source.stream);
    // The consumer asked for more after taking every chunk: most of them have been written somewhere.
    await source.asked(chunks.length + 1);
    expect(await text(storage, key)).toBe('old');
    expect((await storage.head(key))!.size).toBe(3);
    source.stream.push(chunk('z'));
    source.stream.push(null);
    expect(await putting).toBe(total + 64 * 1024);
    const after = await storage.get(key);
    expect(after!.size).toBe(total + 64 * 1024);
    expect((await buffer(after!.body)).equals(Buffer.concat([...chunks, chunk('z')]))).toBe(true);
  });

  it('keeps the old object when the body stream fails mid-way', async () => {
    const key = `${fresh()}/broken.ts`;
    await storage.put(key, 'old');
    const source = controlledStream([Buffer.alloc(64 * 1024, 'x'), Buffer.alloc(64 * 1024, 'y')]);
    const putting = storage.put(key, source.stream);
    await source.asked(3);
    source.stream.destroy(new Error('upload connection lost'));
    await expect(putting).rejects.toThrow(/upload connection lost/);
    expect(await text(storage, key)).toBe('old');
  });

  it('keeps an object readable while it is replaced', async () => {
    const key = `${fresh()}/readers.ts`;
    const before = randomBytes(300_000);
    await storage.put(key, before);
    const reading = await storage.get(key);
    await storage.put(key, 'replaced');
    expect((await buffer(reading!.body)).equals(before)).toBe(true);
    expect(await text(storage, key)).toBe('replaced');
  });
});

describe('local storage specifics', () => {
  let dir: string;
  let storage: LocalStorage;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lectern-storage-local-'));
    storage = new LocalStorage(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps objects as files under its directory and removes emptied directories', async () => {
    await storage.put('org/v/1/hls/a.ts', 'a');
    await storage.put('org/v/1/hls/b.ts', 'b');
    await storage.put('org/v/2/poster.jpg', 'p');
    expect(await readFile(path.join(dir, 'org', 'v', '1', 'hls', 'a.ts'), 'utf8')).toBe('a');
    expect(await storage.deletePrefix('org/v/1/')).toBe(2);
    await expect(stat(path.join(dir, 'org', 'v', '1'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(path.join(dir, 'org', 'v'))).toEqual(['2']);
    await storage.delete(['org/v/2/poster.jpg']);
    await expect(stat(path.join(dir, 'org'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(dir)).isDirectory()).toBe(true);
  });

  it('leaves no temporary file behind, after success or failure', async () => {
    await storage.put('org/tmp-check.json', '{}');
    const source = controlledStream([Buffer.alloc(1024)]);
    const putting = storage.put('org/tmp-check.json', source.stream);
    await source.asked(2);
    source.stream.destroy(new Error('gone'));
    await expect(putting).rejects.toThrow(/gone/);
    expect(await readdir(path.join(dir, '.tmp'))).toEqual([]);
  });

  it('reserves .tmp, refuses a key under an object, and sees a directory as no object', async () => {
    await expect(storage.put('.tmp/x', 'x')).rejects.toThrow(/reserved/);
    await expect(storage.list('.tmp/')).rejects.toThrow(/reserved/);
    await storage.put('org/file', 'f');
    await expect(storage.put('org/file/child', 'c')).rejects.toThrow(/a parent of it is already an object/);
    await storage.put('org/dir/child', 'c');
    expect(await storage.get('org/dir')).toBeNull();
    expect(await storage.head('org/dir')).toBeNull();
    await expect(storage.put('org/dir', 'd')).rejects.toThrow(/other objects are stored under it/);
  });

  it('check() fails with a short reason when the directory cannot be written', async () => {
    const file = path.join(dir, 'not-a-dir');
    await writeFile(file, '');
    await expect(new LocalStorage(path.join(file, 'media')).check()).rejects.toThrow(/is not writable: ENOTDIR/);
  });
});

describe('s3 storage specifics', () => {
  let s3: Backend;
  beforeAll(async () => {
    s3 = await startTestS3();
  });
  afterAll(() => s3?.close());

  it('honours an explicit content type', async () => {
    const storage = createStorage(s3.config);
    try {
      await storage.put('ct/caption', 'WEBVTT', { contentType: 'text/vtt; charset=utf-8' });
      expect((await storage.head('ct/caption'))!.contentType).toBe('text/vtt; charset=utf-8');
      const caption = await storage.get('ct/caption');
      caption!.body.destroy();
      expect(caption!.contentType).toBe('text/vtt; charset=utf-8');
    } finally {
      await storage.close();
    }
  });

  it('keeps every key inside its S3_PREFIX', async () => {
    const plain = createStorage(s3.config);
    const scoped = createStorage({ ...s3.config, prefix: '/env/staging/' } as StorageConfig);
    try {
      await scoped.put('org/a.ts', 'a');
      await scoped.put('org/sub/b.ts', 'bb');
      await plain.put('org/c.ts', 'outside');
      expect(await scoped.list('org/')).toEqual([
        { key: 'org/a.ts', size: 1 },
        { key: 'org/sub/b.ts', size: 2 },
      ]);
      expect((await plain.list('env/')).map((o) => o.key)).toEqual(['env/staging/org/a.ts', 'env/staging/org/sub/b.ts']);
      expect(await text(scoped, 'org/a.ts')).toBe('a');
      expect(await scoped.get('org/c.ts')).toBeNull();
      expect(await scoped.deletePrefix('org/')).toBe(2);
      expect(await plain.list('org/')).toEqual([{ key: 'org/c.ts', size: 7 }]);
    } finally {
      await scoped.close();
      await plain.close();
    }
  });

  it('check() names a missing bucket', async () => {
    const storage = createStorage({ ...s3.config, bucket: 'no-such-bucket' } as StorageConfig);
    try {
      await expect(storage.check()).rejects.toThrow(/S3 bucket 'no-such-bucket' is not reachable: \S+/);
    } finally {
      await storage.close();
    }
  });

  it('fails within seconds, with a reason, when S3 is down', async () => {
    // A port that was just free and is now closed: connections are refused.
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const storage = createStorage({ ...s3.config, endpoint: `http://127.0.0.1:${port}` } as StorageConfig);
    try {
      const started = Date.now();
      await expect(storage.check()).rejects.toThrow(/not reachable: ECONNREFUSED/);
      await expect(storage.put('down/x', 'x')).rejects.toThrow(/S3 put 'down\/x' failed/);
      await expect(storage.get('down/x')).rejects.toThrow(/S3 get 'down\/x' failed/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await storage.close();
    }
  });
});

describe('storage keys', () => {
  it('accepts keys of safe segments', () => {
    for (const key of ['a', 'org_1/videos/v-1/hls/720p.m3u8', 'a=b.c-d_e', '...', '.hidden', 'x'.repeat(200), `${'a/'.repeat(511)}ab`]) {
      expect(assertKey(key)).toBe(key);
    }
  });

  it.each([
    ['empty', ''],
    ['parent segment', '..'],
    ['leading parent', '../x'],
    ['climbing out', 'a/../../b'],
    ['current segment', 'a/./b'],
    ['absolute', '/abs'],
    ['double slash', 'a//b'],
    ['trailing slash', 'a/'],
    ['backslash', 'a\\b'],
    ['backslash parent', '..\\x'],
    ['NUL', 'a\0b'],
    ['percent-encoding (just characters, not decoded, and % is not allowed)', '%2e%2e'],
    ['space', 'a b'],
    ['non-ASCII', 'vidéo'],
    ['newline', 'a\nb'],
    ['segment over 200', 'x'.repeat(201)],
    ['key over 1024', `${'a/'.repeat(512)}a`],
  ])('refuses %s', (_what, key) => {
    expect(() => assertKey(key)).toThrow(/invalid storage key/);
  });

  it('tenantKey puts every key under its organization', () => {
    expect(tenantKey('org_42', 'videos', 'v1', 'master.m3u8')).toBe('org_42/videos/v1/master.m3u8');
    expect(tenantKey('org_42', 'videos/v1')).toBe('org_42/videos/v1');
    expect(() => tenantKey('org_42', 'videos/v1/')).toThrow(/invalid storage key/);
    expect(tenantKey('org_42')).toBe('org_42');
    expect(() => tenantKey('org_42', '..', 'org_43', 'x')).toThrow(/invalid storage key/);
    expect(() => tenantKey('org_42', '../org_43')).toThrow(/invalid storage key/);
    expect(() => tenantKey('org_42/../org_43', 'x')).toThrow(/invalid tenant id/);
    expect(() => tenantKey('..', 'x')).toThrow(/invalid storage key/);
    expect(() => tenantKey('', 'x')).toThrow(/invalid storage key/);
    expect(() => tenantKey('org_42', '')).toThrow(/invalid storage key/);
  });

  it('infers content types from extensions', () => {
    expect(contentTypeFor('o/v/master.m3u8')).toBe('application/vnd.apple.mpegurl');
    expect(contentTypeFor('o/v/seg-001.ts')).toBe('video/mp2t');
    expect(contentTypeFor('o/v/seg-001.m4s')).toBe('video/mp4');
    expect(contentTypeFor('o/v/source.MP4')).toBe('video/mp4');
    expect(contentTypeFor('o/v/poster.jpg')).toBe('image/jpeg');
    expect(contentTypeFor('o/v/en.vtt')).toBe('text/vtt');
    expect(contentTypeFor('o/v/manifest.json')).toBe('application/json');
    expect(contentTypeFor('o/certificates/c1.pdf')).toBe('application/pdf');
    expect(contentTypeFor('o/certificates/c1.PDF')).toBe('application/pdf');
    expect(contentTypeFor('o/badges/b1.png')).toBe('image/png');
    expect(contentTypeFor('o/badges/b1.jpeg')).toBe('image/jpeg');
    expect(contentTypeFor('o/v/source')).toBe('application/octet-stream');
    expect(contentTypeFor('o/v.ts/source')).toBe('application/octet-stream');
    expect(contentTypeFor('o/.ts')).toBe('application/octet-stream');
  });
});

describe('storage configuration', () => {
  const storageEnv = storageEnvFor('.lectern/media');

  it('defaults to a local directory under the working directory', () => {
    const env = storageEnv.parse({});
    expect(storageConfig(env)).toEqual({ driver: 'local', dir: path.resolve('.lectern/media') });
    expect(storageConfig(storageEnv.parse({ STORAGE_DIR: '/srv/media' }))).toEqual({ driver: 'local', dir: '/srv/media' });
  });

  it("takes each subgraph's own default folder, with the same variable names", () => {
    const certificates = storageEnvFor('.lectern/certificates');
    expect(storageConfig(certificates.parse({}))).toEqual({ driver: 'local', dir: path.resolve('.lectern/certificates') });
    // Building one subgraph's schema does not move another's default.
    expect(storageConfig(storageEnv.parse({}))).toEqual({ driver: 'local', dir: path.resolve('.lectern/media') });
    expect(storageConfig(certificates.parse({ STORAGE_DIR: '/srv/certs' }))).toEqual({ driver: 'local', dir: '/srv/certs' });
    expect(Object.keys(certificates.shape)).toEqual(Object.keys(storageEnv.shape));
    expect(() => storageEnvFor('')).toThrow(/default local directory/);
    expect(() => storageEnvFor('  ')).toThrow(/default local directory/);
  });

  it('reads the S3 settings', () => {
    const env = storageEnv.parse({
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'media',
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_PREFIX: 'prod',
    });
    expect(storageConfig(env)).toEqual({
      driver: 's3',
      bucket: 'media',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      prefix: 'prod',
    });
    // No credentials: the SDK's default chain.
    expect(storageConfig(storageEnv.parse({ STORAGE_DRIVER: 's3', S3_BUCKET: 'media', S3_REGION: 'eu-west-3' }))).toEqual({
      driver: 's3',
      bucket: 'media',
      region: 'eu-west-3',
      forcePathStyle: false,
    });
  });

  it('needs S3_BUCKET for the s3 driver, also in an extended schema', () => {
    const issue = storageEnv.safeParse({ STORAGE_DRIVER: 's3' }).error?.issues[0];
    expect(issue).toMatchObject({ path: ['S3_BUCKET'], message: 'required when STORAGE_DRIVER=s3' });
    expect(storageEnv.extend({ PORT: storageEnv.shape.S3_REGION }).safeParse({ STORAGE_DRIVER: 's3' }).success).toBe(false);
    expect(() => storageConfig({ ...storageEnv.parse({}), STORAGE_DRIVER: 's3' })).toThrow(/S3_BUCKET: required/);
    expect(storageEnv.safeParse({ STORAGE_DRIVER: 'gcs' }).success).toBe(false);
    expect(storageEnv.safeParse({ S3_FORCE_PATH_STYLE: 'yes' }).success).toBe(false);
  });

  it('requireS3Bucket restores the S3_BUCKET check in a schema built from the shape (as a subgraph composes it)', () => {
    const composed = z.object({ PORT: z.coerce.number().default(4000) }).extend(storageEnv.shape);
    // The shape alone drops the refinement: storageConfig is the backstop.
    expect(composed.safeParse({ STORAGE_DRIVER: 's3' }).success).toBe(true);
    expect(() => storageConfig(composed.parse({ STORAGE_DRIVER: 's3' }))).toThrow(/S3_BUCKET: required/);
    const refined = composed.superRefine(requireS3Bucket);
    expect(refined.safeParse({ STORAGE_DRIVER: 's3' }).error?.issues[0]).toMatchObject({ path: ['S3_BUCKET'] });
    expect(refined.safeParse({ STORAGE_DRIVER: 's3', S3_BUCKET: 'b' }).success).toBe(true);
    expect(refined.parse({}).STORAGE_DIR).toBe('.lectern/media');
  });

  it('refuses half a credential', () => {
    expect(() => createStorage({ driver: 's3', bucket: 'b', region: 'us-east-1', accessKeyId: 'only-id' })).toThrow(/both/);
  });
});
