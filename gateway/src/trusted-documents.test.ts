// Trusted documents and APQ against the real Redis: the committed manifest is what codegen
// builds from e2e/operations and what the typed client sends; a toy ApolloServer wired like the
// gateway (body rewritten as the kernel http host does, RedisApqCache, the plugin) refuses
// unknown documents where they are required, shares APQ registrations between two replicas, and
// keeps serving when Redis is down.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { glob } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { parse, print, type DocumentNode } from 'graphql';
import { Redis } from 'ioredis';
import { HttpError } from '@lectern/kernel/http';
import { createRedis, waitForRedis } from '@lectern/kernel/redis';
import { until } from '@lectern/testkit';
import { buildCodegenConfig } from '../../codegen.ts';
import {
  RedisApqCache,
  TRUSTED_DOCUMENTS_FILE,
  TRUSTED_DOCUMENTS_PATH,
  TrustedDocuments,
  buildTrustedDocumentsManifest,
  formatTrustedDocumentsManifest,
  trustedDocumentsPlugin,
} from './trusted-documents.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
const prefixes: string[] = [];
const prefix = () => {
  const p = `test:${randomUUID()}:apq:`;
  prefixes.push(p);
  return p;
};
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

async function operationFiles(): Promise<DocumentNode[]> {
  const { documents } = buildCodegenConfig(ROOT).manifests[TRUSTED_DOCUMENTS_FILE]!;
  const files: string[] = [];
  for (const pattern of documents) for await (const f of glob(pattern, { cwd: ROOT })) files.push(f);
  return files.sort().map((f) => parse(readFileSync(join(ROOT, f), 'utf8')));
}

describe('the trusted documents manifest', () => {
  it('is what codegen builds from the current e2e/operations, whatever order the files come in', async () => {
    const docs = await operationFiles();
    const committed = readFileSync(TRUSTED_DOCUMENTS_PATH, 'utf8');
    expect(formatTrustedDocumentsManifest(buildTrustedDocumentsManifest(docs))).toBe(committed);
    expect(formatTrustedDocumentsManifest(buildTrustedDocumentsManifest([...docs].reverse()))).toBe(committed);
    const names = (JSON.parse(committed) as { operations: { name: string }[] }).operations.map((o) => o.name);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('Login');
  });

  it('lists every operation under the sha256 of its body, and loads', () => {
    const manifest = JSON.parse(readFileSync(TRUSTED_DOCUMENTS_PATH, 'utf8')) as { format: string; operations: { id: string; body: string }[] };
    expect(manifest.format).toBe('apollo-persisted-query-manifest');
    for (const op of manifest.operations) expect(op.id).toBe(sha256(op.body));
    expect(TrustedDocuments.load().size).toBe(manifest.operations.length);
  });

  it("has each body exactly as the typed client sends it: print() of e2e/__generated__/graphql.ts's documents", () => {
    // Read as text: the gateway does not import e2e code. Each document is one JSON line.
    const generated = readFileSync(join(ROOT, 'e2e/__generated__/graphql.ts'), 'utf8');
    const documents = TrustedDocuments.load();
    let count = 0;
    for (const m of generated.matchAll(/^export const (\w+)Document = (\{.*\}) as unknown as DocumentNode</gm)) {
      const text = print(JSON.parse(m[2]!) as DocumentNode);
      expect(documents.get(sha256(text))?.name, m[1]).toBe(m[1]);
      count++;
    }
    expect(count).toBe(documents.size);
  });

  it('puts the fragments an operation uses after it, dependencies first (as typed-document-node does)', () => {
    const manifest = buildTrustedDocumentsManifest([
      parse('query Q { a { ...FA } }'),
      parse('fragment FA on A { id b { ...FB } }\nfragment FB on B { id }\nfragment Unused on A { id }'),
    ]);
    expect(manifest.operations).toHaveLength(1);
    expect(manifest.operations[0]!.body).toBe('query Q {\n  a {\n    ...FA\n  }\n}\n\nfragment FB on B {\n  id\n}\n\nfragment FA on A {\n  id\n  b {\n    ...FB\n  }\n}');
  });

  it('refuses anonymous and duplicate operations, and a manifest whose id is not its body', () => {
    expect(() => buildTrustedDocumentsManifest([parse('{ a }')])).toThrow(/no name/);
    expect(() => buildTrustedDocumentsManifest([parse('query A { a }'), parse('query A { b }')])).toThrow(/Two operations/);
    const bad = { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: sha256('x'), name: 'A', type: 'query', body: 'query A { a }' }] };
    expect(() => TrustedDocuments.fromManifest(bad)).toThrow(/not the sha256/);
  });
});

// A toy graph and its manifest: what an organization's app ships.
const typeDefs = /* GraphQL */ `
  type Query {
    hello: String!
    secret: String!
  }
`;
const resolvers = { Query: { hello: () => 'world', secret: () => 'data' } };
const HELLO = 'query Hello {\n  hello\n}';
const documents = TrustedDocuments.fromManifest(buildTrustedDocumentsManifest([parse(HELLO)]));
const HELLO_ID = sha256(HELLO);

interface Ctx {
  required: boolean;
}

async function replica(cache: RedisApqCache): Promise<ApolloServer<Ctx>> {
  const server = new ApolloServer<Ctx>({
    typeDefs,
    resolvers,
    persistedQueries: { cache, ttl: 300 },
    plugins: [trustedDocumentsPlugin<Ctx>({ documents, required: (ctx) => ctx.required })],
    includeStacktraceInErrorResponses: false,
  });
  await server.start();
  return server;
}

interface Answer {
  status: number;
  data?: Record<string, unknown> | null;
  code?: unknown;
}

/** A POST as the kernel http host runs it: body hook (rewriteBody) first, then Apollo. */
async function post(server: ApolloServer<Ctx>, body: Record<string, unknown>, required: boolean): Promise<Answer> {
  let rewritten: unknown;
  try {
    rewritten = documents.rewriteBody(body);
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, code: err.code };
    throw err;
  }
  const response = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: 'POST', headers: new HeaderMap([['content-type', 'application/json']]), search: '', body: rewritten },
    context: async () => ({ required }),
  });
  if (response.body.kind !== 'complete') throw new Error('expected a complete body');
  const parsed = JSON.parse(response.body.string) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: unknown } }[] };
  return { status: response.status ?? 200, data: parsed.data, code: parsed.errors?.[0]?.extensions?.code };
}

const apq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });
/** An operation text no manifest lists, unique per call (so no replica has seen it). */
const freshQuery = () => `query Other${randomUUID().replaceAll('-', '')} {\n  secret\n}`;

describe('trusted documents through Apollo', () => {
  const servers: ApolloServer<Ctx>[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });
  const start = async (cache: RedisApqCache) => {
    const s = await replica(cache);
    servers.push(s);
    return s;
  };

  it('runs a documentId, in both forms, and refuses an unknown one', async () => {
    const server = await start(new RedisApqCache({ redis, prefix: prefix(), documents }));
    expect(await post(server, { documentId: HELLO_ID }, true)).toMatchObject({ status: 200, data: { hello: 'world' } });
    expect(await post(server, { documentId: `sha256:${HELLO_ID}`, operationName: 'Hello' }, true)).toMatchObject({ status: 200, data: { hello: 'world' } });
    expect(await post(server, { documentId: sha256('query Nope { secret }') }, true)).toEqual({ status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' });
    expect(await post(server, { documentId: HELLO_ID, query: HELLO }, false)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(await post(server, { documentId: 42 }, false)).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('where trusted documents are required, refuses other text, even registered through APQ, and stores none of it', async () => {
    const p = prefix();
    const server = await start(new RedisApqCache({ redis, prefix: p, documents }));
    const other = freshQuery();
    expect(await post(server, { query: other }, true)).toMatchObject({ status: 400, code: 'TRUSTED_DOCUMENT_REQUIRED' });
    // The manifest's text itself is accepted, sent as text or as its APQ hash.
    expect(await post(server, { query: HELLO }, true)).toMatchObject({ status: 200, data: { hello: 'world' } });
    expect(await post(server, { extensions: apq(HELLO_ID) }, true)).toMatchObject({ status: 200, data: { hello: 'world' } });

    // A refused registration is not stored.
    expect(await post(server, { query: other, extensions: apq(sha256(other)) }, true)).toMatchObject({ status: 400, code: 'TRUSTED_DOCUMENT_REQUIRED' });
    // Registered by a caller who may send anything (an integrator's key) ...
    const registered = freshQuery();
    expect(await post(server, { query: registered, extensions: apq(sha256(registered)) }, false)).toMatchObject({ status: 200, data: { secret: 'data' } });
    await until(() => redis.exists(`${p}${sha256(registered)}`));
    expect(await redis.exists(`${p}${sha256(other)}`)).toBe(0);
    // ... it is still not trusted.
    expect(await post(server, { extensions: apq(sha256(registered)) }, true)).toMatchObject({ status: 400, code: 'TRUSTED_DOCUMENT_REQUIRED' });
    expect(await post(server, { extensions: apq(sha256(registered)) }, false)).toMatchObject({ status: 200, data: { secret: 'data' } });
  });

  it('where they are not required, runs any text', async () => {
    const server = await start(new RedisApqCache({ redis, prefix: prefix(), documents }));
    expect(await post(server, { query: freshQuery() }, false)).toMatchObject({ status: 200, data: { secret: 'data' } });
  });

  it('shares APQ registrations between replicas through Redis', async () => {
    const p = prefix();
    const a = await start(new RedisApqCache({ redis, prefix: p, documents }));
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const otherClient = createRedis(url);
    try {
      await waitForRedis(otherClient, url); // a fail-fast client misses until it is connected
      const b = await start(new RedisApqCache({ redis: otherClient, prefix: p, documents }));
      const text = freshQuery();
      const hash = sha256(text);
      expect(await post(b, { extensions: apq(hash) }, false)).toMatchObject({ status: 200, code: 'PERSISTED_QUERY_NOT_FOUND' });
      expect(await post(a, { query: text, extensions: apq(hash) }, false)).toMatchObject({ status: 200, data: { secret: 'data' } });
      await until(() => redis.exists(`${p}${hash}`)); // Apollo registers without holding the answer
      expect(await post(b, { extensions: apq(hash) }, false)).toMatchObject({ status: 200, data: { secret: 'data' } });
      expect(await redis.ttl(`${p}${hash}`)).toBeLessThanOrEqual(300);
    } finally {
      otherClient.disconnect();
    }
  });

  it('keeps serving while Redis is down: APQ misses, text and manifest ids still work', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const down = createRedis(`redis://127.0.0.1:${closedPort}`, { retryStrategy: () => null });
    try {
      const server = await start(new RedisApqCache({ redis: down, prefix: prefix(), documents }));
      const text = freshQuery();
      expect(await post(server, { extensions: apq(sha256(text)) }, false)).toMatchObject({ status: 200, code: 'PERSISTED_QUERY_NOT_FOUND' });
      expect(await post(server, { query: text, extensions: apq(sha256(text)) }, false)).toMatchObject({ status: 200, data: { secret: 'data' } });
      expect(await post(server, { query: text }, false)).toMatchObject({ status: 200, data: { secret: 'data' } });
      expect(await post(server, { documentId: HELLO_ID }, true)).toMatchObject({ status: 200, data: { hello: 'world' } });
      expect(await post(server, { extensions: apq(HELLO_ID) }, true)).toMatchObject({ status: 200, data: { hello: 'world' } });
    } finally {
      down.disconnect();
    }
  });
});

describe('RedisApqCache', () => {
  it('honours the TTL below its cap, caps "forever", skips oversized and manifest documents', async () => {
    const p = prefix();
    const cache = new RedisApqCache({ redis, prefix: p, documents, maxTtlSeconds: 3600, maxDocumentBytes: 100 });
    const small = freshQuery();
    await cache.set(`apq:${sha256(small)}`, small, { ttl: 60 });
    const ttl = await redis.ttl(`${p}${sha256(small)}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await cache.get(`apq:${sha256(small)}`)).toBe(small);

    const forever = freshQuery();
    await cache.set(`apq:${sha256(forever)}`, forever, { ttl: null });
    expect(await redis.ttl(`${p}${sha256(forever)}`)).toBeGreaterThan(60);
    expect(await redis.ttl(`${p}${sha256(forever)}`)).toBeLessThanOrEqual(3600);

    const big = `query Big {\n  ${'secret\n  '.repeat(20)}}`;
    await cache.set(`apq:${sha256(big)}`, big);
    expect(await redis.exists(`${p}${sha256(big)}`)).toBe(0);

    await cache.set(`apq:${HELLO_ID}`, HELLO);
    expect(await redis.exists(`${p}${HELLO_ID}`)).toBe(0);
    expect(await cache.get(`apq:${HELLO_ID}`)).toBe(HELLO);

    expect(await cache.delete(`apq:${sha256(small)}`)).toBe(true);
    expect(await cache.get(`apq:${sha256(small)}`)).toBeUndefined();
  });

  it('does not serve stored text that does not hash to its key, nor keys that are not hashes', async () => {
    const p = prefix();
    const cache = new RedisApqCache({ redis, prefix: p });
    const hash = sha256('query A { a }');
    await redis.set(`${p}${hash}`, 'query B { b }', 'EX', 60);
    expect(await cache.get(`apq:${hash}`)).toBeUndefined();
    expect(await cache.get('apq:*')).toBeUndefined();
  });
});
