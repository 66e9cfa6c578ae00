// Ids as callers send them. Every id Lectern mints is a UUID; a string that is not one names
// nothing, and checking first keeps malformed ids away from SQL (a uuid cast would fail the
// transaction).
import { badInput } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` is a UUID (either case; normalise with toLowerCase() before comparing). */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);

// Global object identification (Relay; the supergraph's `Node` interface). Every object a
// client may refetch has an `id` that is globally unique and opaque: base64url of
// "<Type>:<key>[:<key>…]", where the keys are the object's own identity in its context (a
// UUID, or several for objects identified by a pair such as a learner's progress in a
// course). The type inside lets the gateway's node subgraph route `node(id:)` to the owning
// subgraph without a lookup. Subgraphs encode on the way out (`globalId`) and decode every
// id a client sends (`idOf` for one-UUID ids, `keysOf` for composite ones); events, jobs
// and SQL keep the plain UUIDs. Clients must not build or parse ids: the format may change.

const TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** The global id of a `type` object identified by `keys` (UUIDs or other strings without ':'). */
export function globalId(type: string, ...keys: string[]): string {
  if (!TYPE_NAME.test(type) || keys.length === 0 || keys.some((k) => k.length === 0 || k.includes(':'))) {
    throw new Error(`globalId: bad type or key (${type}, ${keys.join(', ')})`);
  }
  return Buffer.from(`${type}:${keys.join(':')}`, 'utf8').toString('base64url');
}

/** Type and keys of a global id, or null when `id` is not one Lectern minted. */
export function parseGlobalId(id: unknown): { type: string; keys: string[] } | null {
  if (typeof id !== 'string' || id.length === 0 || id.length > 400 || !/^[A-Za-z0-9_-]+$/.test(id)) return null;
  const [type, ...keys] = Buffer.from(id, 'base64url').toString('utf8').split(':');
  if (!type || !TYPE_NAME.test(type) || keys.length === 0 || keys.some((k) => k.length === 0)) return null;
  // Only the canonical encoding names an object: the same id always, never a look-alike.
  if (globalId(type, ...keys) !== id) return null;
  return { type, keys };
}

/** The keys inside a global id of `type` (as many as `arity`, each a UUID), or null. */
export function keysOf(id: unknown, type: string, arity = 1): string[] | null {
  const parsed = parseGlobalId(id);
  if (!parsed || parsed.type !== type || parsed.keys.length !== arity || !parsed.keys.every(isUuid)) return null;
  return parsed.keys.map((k) => k.toLowerCase());
}

/** The UUID inside a global id of `type`, or null when `id` is not one (malformed, or another type's). */
export const idOf = (id: unknown, type: string): string | null => keysOf(id, type)?.[0] ?? null;

/** The global id of a `type` object from its `{ id }` (for `id` field resolvers). */
export const globalIdOf = (type: string) => (parent: { id: string }) => globalId(type, parent.id);

/** An entity reference to another context's object (`{ __typename, id }` with its global id). */
export const entityRef = <T extends string>(type: T, uuid: string) => ({ __typename: type, id: globalId(type, uuid) });

/** The UUID inside a `type` id a client sent in `field`; BAD_USER_INPUT naming the field when it is not one. */
export function inputId(id: unknown, type: string, field: string): string {
  const uuid = idOf(id, type);
  if (uuid === null) throw badInput(`${field} is not a ${type} id`, field);
  return uuid;
}
