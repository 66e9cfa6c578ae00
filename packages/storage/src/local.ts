// The local-directory adapter of Lectern's object storage (the port: port.ts), for development, tests and
// single-node installs.
// An object is a file at `<dir>/<key>`. Writes are atomic: the bytes go to `<dir>/.tmp/<random>`, are
// fsynced, then renamed into place (same filesystem), so a reader opens either the old file or the new
// one, never a half-written one. Readers open the file once and read size and bytes from that one
// descriptor, so an object replaced while being read is still served whole (the old one).
// No metadata is stored: the content type is always inferred from the key's extension (contentTypeFor),
// so `opts.contentType` is ignored here. Keys whose first segment is '.tmp' are refused (reserved).
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertKey,
  assertPrefix,
  contentTypeFor,
  resolveRange,
  type ObjectBody,
  type ObjectStorage,
  type PutBody,
  type StoredObject,
} from './port.ts';

const TMP = '.tmp';

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

export class LocalStorage implements ObjectStorage {
  readonly driver = 'local' as const;
  readonly dir: string;
  readonly #tmp: string;

  constructor(dir: string) {
    if (!dir) throw new Error('local storage needs a directory');
    this.dir = path.resolve(dir);
    this.#tmp = path.join(this.dir, TMP);
  }

  /** The file of a key (validated; '.tmp' is ours). */
  #file(key: string): string {
    assertKey(key);
    if (key === TMP || key.startsWith(`${TMP}/`)) throw new Error(`invalid storage key '${key}': '${TMP}' is reserved by local storage`);
    return path.join(this.dir, ...key.split('/'));
  }

  #folder(prefix: string): string {
    assertPrefix(prefix);
    return this.#file(prefix.slice(0, -1));
  }

  async put(key: string, body: PutBody, _opts?: { contentType?: string }): Promise<number> {
    const target = this.#file(key);
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      return this.#commit(key, target, async (tmp) => {
        const fh = await open(tmp, 'wx');
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return bytes.byteLength;
      });
    }
    if (!(body instanceof Readable)) throw new TypeError(`put('${key}'): body must be a Buffer, Uint8Array, string or Readable`);
    return this.#commit(key, target, async (tmp) => {
      let bytes = 0;
      const count = new Transform({
        transform(chunk: Buffer | string, _enc, done) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
          bytes += buf.byteLength;
          done(null, buf);
        },
      });
      // flush: fsync before the descriptor closes, so the rename never publishes unsynced bytes.
      await pipeline(body, count, createWriteStream(tmp, { flags: 'wx', flush: true }));
      return bytes;
    });
  }

  async putFile(key: string, file: string, _opts?: { contentType?: string }): Promise<number> {
    const target = this.#file(key);
    const info = await stat(file).catch((err: unknown) => {
      throw new Error(`putFile('${key}'): cannot read ${file}: ${code(err) ?? String(err)}`, { cause: err });
    });
    if (!info.isFile()) throw new Error(`putFile('${key}'): ${file} is not a file`);
    return this.#commit(key, target, async (tmp) => {
      await copyFile(file, tmp);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
        return (await fh.stat()).size;
      } finally {
        await fh.close();
      }
    });
  }

  /** Writes through a temporary file, then renames it into place. */
  async #commit(key: string, target: string, write: (tmp: string) => Promise<number>): Promise<number> {
    await mkdir(this.#tmp, { recursive: true });
    const tmp = path.join(this.#tmp, randomUUID());
    try {
      const bytes = await write(tmp);
      await this.#renameInto(key, tmp, target);
      return bytes;
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
  }

  async #renameInto(key: string, tmp: string, target: string): Promise<void> {
    // A concurrent delete may prune the parent directory between mkdir and rename: try again then.
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(path.dirname(target), { recursive: true });
        await rename(tmp, target);
        return;
      } catch (err) {
        const c = code(err);
        if (c === 'ENOENT' && attempt < 5) continue;
        if (c === 'ENOTDIR' || c === 'EEXIST') {
          throw new Error(`cannot store '${key}': a parent of it is already an object`, { cause: err });
        }
        if (c === 'EISDIR' || c === 'ENOTEMPTY') {
          throw new Error(`cannot store '${key}': other objects are stored under it`, { cause: err });
        }
        throw err;
      }
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<ObjectBody | null> {
    const file = this.#file(key);
    const fh = await open(file, 'r').catch((err: unknown) => {
      if (missing(err)) return null;
      throw err;
    });
    if (!fh) return null;
    try {
      const info = await fh.stat();
      if (!info.isFile()) {
        await fh.close();
        return null;
      }
      const size = info.size;
      const resolved = range ? resolveRange(key, range, size) : null;
      // Reads from this descriptor: a rename of a new object into place does not change what we serve.
      // The stream closes the descriptor when it ends or is destroyed (callers consume or destroy it).
      const body = fh.createReadStream(resolved ?? {});
      return { body, size, contentType: contentTypeFor(key), range: resolved };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  async head(key: string): Promise<{ size: number; contentType: string | null } | null> {
    const info = await stat(this.#file(key)).catch((err: unknown) => {
      if (missing(err)) return null;
      throw err;
    });
    if (!info?.isFile()) return null;
    return { size: info.size, contentType: contentTypeFor(key) };
  }

  async getToFile(key: string, file: string): Promise<boolean> {
    const source = this.#file(key);
    const info = await stat(source).catch((err: unknown) => {
      if (missing(err)) return null;
      throw err;
    });
    if (!info?.isFile()) return false;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    try {
      await copyFile(source, file);
      return true;
    } catch (err) {
      if (missing(err) && !(await stat(source).catch(() => null))) return false; // deleted meanwhile
      await rm(file, { force: true }).catch(() => {});
      throw err;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const found: StoredObject[] = [];
    await this.#walk(this.#folder(prefix), prefix, async (entry) => {
      const info = await stat(entry.file).catch((err: unknown) => {
        if (missing(err)) return null;
        throw err;
      });
      if (info?.isFile()) found.push({ key: entry.key, size: info.size });
    });
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    const files = keys.map((key) => this.#file(key)); // validate every key before deleting any
    for (const file of files) {
      try {
        await unlink(file);
      } catch (err) {
        const c = code(err);
        if (c === 'ENOENT' || c === 'ENOTDIR') continue;
        if (c === 'EISDIR' || c === 'EPERM') continue; // a directory is not an object
        throw err;
      }
      await this.#pruneUp(path.dirname(file));
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const folder = this.#folder(prefix);
    let count = 0;
    const dirs: string[] = [];
    await this.#walk(
      folder,
      prefix,
      async (entry) => {
        try {
          await unlink(entry.file);
          count++;
        } catch (err) {
          if (!missing(err)) throw err;
        }
      },
      (dir) => dirs.push(dir),
    );
    // Deepest first: a directory is removed only once empty (a concurrent put keeps its own).
    for (const dir of dirs.reverse()) await removeIfEmpty(dir);
    await this.#pruneUp(path.dirname(folder));
    return count;
  }

  async check(): Promise<void> {
    const probe = path.join(this.#tmp, `check-${randomUUID()}`);
    try {
      await mkdir(this.#tmp, { recursive: true });
      const fh = await open(probe, 'wx');
      await fh.close();
      await unlink(probe);
    } catch (err) {
      throw new Error(`local storage ${this.dir} is not writable: ${code(err) ?? String(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {}

  /** Calls `onFile` for every regular file under `folder` (key = prefix + relative path), `onDir` for every directory. */
  async #walk(
    folder: string,
    prefix: string,
    onFile: (entry: { key: string; file: string }) => Promise<void>,
    onDir?: (dir: string) => void,
  ): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      if (missing(err)) return;
      throw err;
    }
    onDir?.(folder);
    for (const entry of entries) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) await this.#walk(file, `${prefix}${entry.name}/`, onFile, onDir);
      else if (entry.isFile()) await onFile({ key: `${prefix}${entry.name}`, file });
    }
  }

  /** Removes empty directories from `dir` up to (not including) the root. */
  async #pruneUp(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.dir + path.sep) && current !== this.#tmp) {
      if (!(await removeIfEmpty(current))) return;
      current = path.dirname(current);
    }
  }
}

const missing = (err: unknown): boolean => code(err) === 'ENOENT' || code(err) === 'ENOTDIR';

async function removeIfEmpty(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (err) {
    const c = code(err);
    if (c === 'ENOENT') return true;
    if (c === 'ENOTEMPTY' || c === 'EEXIST' || c === 'ENOTDIR') return false;
    throw err;
  }
}
