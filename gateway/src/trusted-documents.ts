// Trusted documents and automatic persisted queries (APQ): which GraphQL text the gateway runs,
// and which of it counts as "one of our apps' own operations".
//
// A document reaches the gateway in one of three ways:
//   1. Full text: `{ "query": "query Me { … }" }`. Apollo hashes it (sha256 hex = `queryHash`).
//   2. A trusted document id: `{ "documentId": "<sha256 hex>" | "sha256:<hex>" }`. The id names an
//      operation of the typed client, listed in schema/trusted-documents.json (written by
//      `pnpm codegen` from e2e/operations: id = sha256 of exactly the text the client would
//      send, `print()` of its TypedDocumentNode). The kernel http host's `body` hook calls
//      `rewriteBody`, which swaps the id for the manifest's text before Apollo reads the body, so
//      Apollo hashes that text back to the same id. An unknown id is refused
//      (400 PERSISTED_QUERY_NOT_FOUND): there is nothing to fall back to.
//   3. An APQ hash: `{ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": … } } }`,
//      without the text once registered (Apollo's own protocol: a miss answers
//      PersistedQueryNotFound, the client sends text + hash, later requests send the hash only).
//      `RedisApqCache` is Apollo's `persistedQueries.cache`: manifest ids resolve from the manifest
//      (even with Redis empty or down), other hashes from Redis, shared by every gateway replica.
//      Redis trouble is a miss, never a failed request: the client just sends the text again.
//
// Trust comes from the manifest alone. `trustedDocumentsPlugin` runs once Apollo has the text
// (`didResolveOperation`): when `required(ctx)` says so (an organization that lets its users'
// tokens run only its apps' operations; API keys of integrators are typically not required), an
// operation whose text is not a manifest entry is refused with TRUSTED_DOCUMENT_REQUIRED.
// A document registered through APQ is not trusted: anyone can register one. The refusal happens
// before Apollo writes an APQ registration, so refused text is not stored either.
//
// The refusal is HTTP 400, not 403: the caller is allowed the data, only not in that form (the same
// request with a documentId works), and clients treat 403/401 as "your credentials are wrong".
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError, Kind, print, visit, type DefinitionNode, type DocumentNode, type FragmentDefinitionNode } from 'graphql';
import { z } from 'zod';
import { within } from '@lectern/kernel/deadline';
import { HttpError } from '@lectern/kernel/http';
import type { Redis } from '@lectern/kernel/redis';

/** Where `pnpm codegen` writes the manifest (relative to the repository root). */
export const TRUSTED_DOCUMENTS_FILE = 'schema/trusted-documents.json';
export const TRUSTED_DOCUMENTS_PATH = new URL(`../../${TRUSTED_DOCUMENTS_FILE}`, import.meta.url).pathname;

export const TRUSTED_DOCUMENT_REQUIRED = 'TRUSTED_DOCUMENT_REQUIRED';

const HEX_ID = /^[0-9a-f]{64}$/;

/** sha256 hex of a document's text: what Apollo computes as `queryHash`, and a manifest id. */
export const documentHash = (text: string): string => createHash('sha256').update(text).digest('hex');

/** `<hex>` or `sha256:<hex>` (any case) -> the bare lowercase hex, or undefined if neither. */
function normalizeId(id: string): string | undefined {
  const hex = (id.startsWith('sha256:') ? id.slice('sha256:'.length) : id).toLowerCase();
  return HEX_ID.test(hex) ? hex : undefined;
}

// ---------------------------------------------------------------------------------------------
// The manifest (Apollo's persisted query manifest format)

const operationSchema = z.object({
  id: z.string().regex(HEX_ID),
  name: z.string().min(1),
  type: z.enum(['query', 'mutation', 'subscription']),
  body: z.string().min(1),
});
const manifestSchema = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(operationSchema),
});
export type TrustedDocument = z.infer<typeof operationSchema>;
export type TrustedDocumentsManifest = z.infer<typeof manifestSchema>;

/**
 * The manifest of `documents` (every operation they define, with the fragments it uses), as
 * scripts/codegen.ts writes it. Each body is what `print()` gives for the operation's
 * TypedDocumentNode from @graphql-codegen/typed-document-node: the operation, then the fragments
 * it uses in that plugin's order (each used fragment's dependencies first, then the used
 * fragments as they appear); so a client sending `print(doc)` sends exactly the body, byte for
 * byte, and its sha256 is the id. Operations are sorted by name (names must be unique).
 */
export function buildTrustedDocumentsManifest(documents: readonly DocumentNode[]): TrustedDocumentsManifest {
  const definitions = documents.flatMap((d) => d.definitions);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of definitions) {
    if (d.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const seen = fragments.get(d.name.value);
    if (seen && print(seen) !== print(d)) throw new Error(`Two different fragments are called ${d.name.value}`);
    fragments.set(d.name.value, d);
  }
  const fragment = (name: string) => {
    const f = fragments.get(name);
    if (!f) throw new Error(`Unknown fragment ${name}`);
    return f;
  };
  /** Fragments `node` spreads directly, in document order. */
  const spreads = (node: DefinitionNode): string[] => {
    const names = new Set<string>();
    visit(node, { FragmentSpread: (s) => void names.add(s.name.value) });
    return [...names];
  };
  /** Fragments `node` uses, each followed by the ones it uses (the plugin's `_extractFragments`). */
  const used = (node: DefinitionNode, path: Set<string> = new Set()): string[] => {
    const names = new Set<string>();
    for (const name of spreads(node)) {
      names.add(name);
      if (path.has(name)) continue; // a cycle: graphql validation reports it
      for (const nested of used(fragment(name), new Set([...path, name]))) names.add(nested);
    }
    return [...names];
  };
  /** What `name` depends on, dependencies first, without itself (dependency-graph's `dependenciesOf`). */
  const dependenciesOf = (name: string): string[] => {
    const order: string[] = [];
    const visited = new Set<string>();
    const dfs = (n: string) => {
      if (visited.has(n)) return;
      visited.add(n);
      for (const child of spreads(fragment(n))) dfs(child);
      order.push(n);
    };
    dfs(name);
    return order.filter((n) => n !== name);
  };

  const operations: TrustedDocument[] = [];
  const names = new Set<string>();
  for (const d of definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const name = d.name?.value;
    if (!name) throw new Error(`An ${d.operation} has no name: trusted documents are listed by operation name`);
    if (names.has(name)) throw new Error(`Two operations are called ${name}`);
    names.add(name);
    const usedNames = used(d);
    const ordered = new Set(usedNames.flatMap(dependenciesOf));
    for (const n of usedNames) ordered.add(n);
    const body = print({ kind: Kind.DOCUMENT, definitions: [d, ...[...ordered].map(fragment)] });
    operations.push({ id: documentHash(body), name, type: d.operation, body });
  }
  operations.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { format: 'apollo-persisted-query-manifest', version: 1, operations };
}

/** The manifest file's text (stable: `pnpm codegen --check` compares it byte for byte). */
export const formatTrustedDocumentsManifest = (manifest: TrustedDocumentsManifest): string => `${JSON.stringify(manifest, null, 2)}\n`;

// ---------------------------------------------------------------------------------------------
// The trusted documents of a running gateway

export class TrustedDocuments {
  readonly #byId: ReadonlyMap<string, TrustedDocument>;

  private constructor(byId: Map<string, TrustedDocument>) {
    this.#byId = byId;
  }

  /** Reads the manifest `pnpm codegen` wrote; throws (the gateway must not start) if it is malformed. */
  static load(path: string = TRUSTED_DOCUMENTS_PATH): TrustedDocuments {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`Trusted documents: cannot read ${path} (run pnpm codegen): ${(err as Error).message}`, { cause: err });
    }
    return TrustedDocuments.fromManifest(json, path);
  }

  /** From a parsed manifest; every id must be the sha256 of its body. */
  static fromManifest(manifest: unknown, source = 'manifest'): TrustedDocuments {
    const parsed = manifestSchema.safeParse(manifest);
    if (!parsed.success) throw new Error(`Trusted documents: ${source} is not an apollo-persisted-query-manifest: ${parsed.error.message}`);
    const byId = new Map<string, TrustedDocument>();
    for (const op of parsed.data.operations) {
      if (documentHash(op.body) !== op.id) throw new Error(`Trusted documents: in ${source}, ${op.name}'s id is not the sha256 of its body (run pnpm codegen)`);
      byId.set(op.id, op);
    }
    return new TrustedDocuments(byId);
  }

  /** The document with this id (`<sha256 hex>` or `sha256:<hex>`). */
  get(id: string): TrustedDocument | undefined {
    const hex = normalizeId(id);
    return hex === undefined ? undefined : this.#byId.get(hex);
  }

  /** Whether `hash` (Apollo's `queryHash`, or an id in either form) is a manifest id. */
  has(hash: string): boolean {
    return this.get(hash) !== undefined;
  }

  /** Whether `text` is exactly a manifest body whose id is `hash`. */
  trusts(hash: string | undefined, text: string | undefined): boolean {
    return hash !== undefined && text !== undefined && this.get(hash)?.body === text;
  }

  get size(): number {
    return this.#byId.size;
  }

  /**
   * The kernel http host's `body` hook: a POST body carrying `documentId` becomes the body Apollo
   * understands (`query` = the manifest's text, whose sha256 Apollo computes back to the id).
   * Every other body is returned as it is. Throws HttpError 400: PERSISTED_QUERY_NOT_FOUND for an
   * unknown id, BAD_REQUEST for a documentId that is not a string or comes with a `query`.
   *
   * It does not add a `persistedQuery` extension: Apollo's `queryHash` already equals the id, and
   * the extension would make each such request an APQ registration (and fail where APQ is off).
   * A `persistedQuery` extension the client sent is left for Apollo to check against the text.
   */
  rewriteBody(body: unknown): unknown {
    if (Array.isArray(body)) return body.map((b: unknown) => this.#rewrite(b));
    return this.#rewrite(body);
  }

  #rewrite(body: unknown): unknown {
    if (typeof body !== 'object' || body === null || !('documentId' in body)) return body;
    const { documentId, ...rest } = body as Record<string, unknown>;
    if (documentId === undefined || documentId === null) return rest;
    if (typeof documentId !== 'string') throw new HttpError(400, 'BAD_REQUEST', 'documentId must be a string (the sha256 of a trusted document)');
    if (rest.query !== undefined && rest.query !== null) throw new HttpError(400, 'BAD_REQUEST', 'Send either query or documentId, not both');
    const document = this.get(documentId);
    if (!document) {
      throw new HttpError(400, 'PERSISTED_QUERY_NOT_FOUND', 'Unknown documentId: no trusted document of this API has it (is the app built for another version?)');
    }
    return { ...rest, query: document.body };
  }
}

// ---------------------------------------------------------------------------------------------
// APQ storage in Redis

/** What Apollo's `persistedQueries.cache` is (a KeyValueCache<string>). */
type ApqCache = NonNullable<Exclude<ApolloServerOptions<BaseContext>['persistedQueries'], false | undefined>['cache']>;

export interface RedisApqCacheOptions {
  /** A request-path client (kernel `createRedis`: fails fast while Redis is down), without keyPrefix. */
  redis: Redis;
  /** Key prefix, e.g. `${REDIS_PREFIX}gateway:apq:`; the key is the prefix + the sha256 hex. */
  prefix: string;
  /** Manifest ids resolve from here first, so they never depend on Redis. */
  documents?: TrustedDocuments;
  /**
   * Longest life of a registered document, in seconds (default 24 h). Apollo's `ttl` is honoured
   * below it; "no ttl" (null or 0) gets this one: Redis runs with noeviction, so nothing registered
   * by clients may stay forever.
   */
  maxTtlSeconds?: number;
  /** Larger documents are not stored (they still run; the client sends them again). Default 64 KiB. */
  maxDocumentBytes?: number;
  /** A lookup slower than this is a miss (default 500 ms). */
  timeoutMs?: number;
}

/**
 * Apollo's APQ cache, shared by every gateway replica through Redis. Apollo passes keys as
 * `apq:<sha256 hex>`; anything else is a miss. Redis errors are misses on `get` and are ignored on
 * `set`/`delete`: APQ storage being down must never fail a request.
 */
export class RedisApqCache implements ApqCache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #documents: TrustedDocuments | undefined;
  readonly #maxTtl: number;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;

  constructor(opts: RedisApqCacheOptions) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#documents = opts.documents;
    this.#maxTtl = opts.maxTtlSeconds ?? 24 * 60 * 60;
    this.#maxBytes = opts.maxDocumentBytes ?? 64 * 1024;
    this.#timeoutMs = opts.timeoutMs ?? 500;
  }

  /** `apq:<hex>` or `<hex>` -> `<hex>`; anything else -> undefined. */
  static #hash(key: string): string | undefined {
    const hex = key.startsWith('apq:') ? key.slice('apq:'.length) : key;
    return HEX_ID.test(hex) ? hex : undefined;
  }

  async get(key: string): Promise<string | undefined> {
    const hash = RedisApqCache.#hash(key);
    if (hash === undefined) return undefined;
    const trusted = this.#documents?.get(hash);
    if (trusted) return trusted.body;
    try {
      const text = await within(this.#timeoutMs, () => this.#redis.get(this.#prefix + hash), 'APQ lookup timed out');
      // A stored text that does not hash to its key is not served (Apollo does not check it).
      return text !== null && documentHash(text) === hash ? text : undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const hash = RedisApqCache.#hash(key);
    if (hash === undefined || this.#documents?.has(hash)) return;
    if (Buffer.byteLength(value, 'utf8') > this.#maxBytes) return;
    const ttl = options?.ttl;
    const seconds = typeof ttl === 'number' && ttl > 0 ? Math.min(Math.ceil(ttl), this.#maxTtl) : this.#maxTtl;
    try {
      await within(this.#timeoutMs, () => this.#redis.set(this.#prefix + hash, value, 'EX', seconds), 'APQ registration timed out');
    } catch {
      // Not stored: the next request with this hash misses and the client sends the text again.
    }
  }

  async delete(key: string): Promise<boolean> {
    const hash = RedisApqCache.#hash(key);
    if (hash === undefined) return false;
    try {
      return (await within(this.#timeoutMs, () => this.#redis.del(this.#prefix + hash), 'APQ delete timed out')) > 0;
    } catch {
      return false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Requiring trusted documents

export interface TrustedDocumentsPluginOptions<Ctx extends BaseContext> {
  documents: TrustedDocuments;
  /** Whether this request may run only trusted documents (e.g. its organization requires them for user tokens). */
  required: (ctx: Ctx) => boolean | Promise<boolean>;
}

/** The error an untrusted operation gets where trusted documents are required (HTTP 400). */
export const trustedDocumentRequired = () =>
  new GraphQLError(
    "This organization accepts only its apps' registered operations: send a documentId (the operation's id in the trusted documents manifest) instead of query text",
    { extensions: { code: TRUSTED_DOCUMENT_REQUIRED, http: { status: 400 } } },
  );

/**
 * Why a document may not run, or null: outside the manifest where `required()` (TRUSTED_DOCUMENT_REQUIRED),
 * or the GraphQLError `required()` failed with (its organization's setting could not be checked).
 * The text itself, not only its hash, is compared: whatever cache served it, only the manifest's own text counts.
 */
export async function documentRefusal(documents: TrustedDocuments, hash: string, text: string, required: () => boolean | Promise<boolean>): Promise<GraphQLError | null> {
  if (documents.trusts(hash, text)) return null;
  try {
    return (await required()) ? trustedDocumentRequired() : null;
  } catch (err) {
    if (err instanceof GraphQLError) return err;
    throw err;
  }
}

/** Refuses operations outside the manifest when `required(ctx)` (HTTP; the gateway's sockets call documentRefusal). */
export function trustedDocumentsPlugin<Ctx extends BaseContext>(opts: TrustedDocumentsPluginOptions<Ctx>): ApolloServerPlugin<Ctx> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ queryHash, source, contextValue }) {
          const refusal = await documentRefusal(opts.documents, queryHash, source, () => opts.required(contextValue));
          if (refusal) throw refusal;
        },
      };
    },
  };
}
