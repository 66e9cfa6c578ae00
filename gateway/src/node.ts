// The node subgraph: Relay's `node(id:)` / `nodes(ids:)` for the whole supergraph, served
// inside the gateway process (no network hop, no data of its own).
//
// Every subgraph gives the objects a client may refetch a global id that names the object's
// type (packages/kernel/src/ids.ts). The subgraph that owns a type, and only that one,
// declares it `implements Node` with `@key(fields: "id")`. This subgraph declares `Node` as a
// federation entity interface (`interface Node @key(fields: "id")`) with every implementing
// type, which is what lets the query planner route a `node(id:)` selection to the owner:
//
//   1. `node(id)` reads the type from the id and asks the owner whether the caller may see the
//      object (`_entities` with `{ __typename, id }`, through the owner's tenant-scoped
//      `__resolveReference`; one call per owner for a whole `nodes(ids)`), so an object that
//      does not exist, or is another organization's, is null, as Relay expects;
//   2. the planner then fetches the selected fields from the owner through `_entities`.
//
// The list of Node types and their owners is not written by hand: `pnpm compose` derives this
// subgraph's SDL from the subgraphs' SDLs (nodeTypesIn), and the gateway reads the owners back
// from the composed supergraph at start (nodeOwnersOfSupergraph), so the two always agree.
import { buildSubgraphSchema } from '@apollo/subgraph';
import { LocalGraphQLDataSource } from '@apollo/gateway';
import { Kind, parse, type DocumentNode } from 'graphql';
import { DataLoader } from '@lectern/kernel/loaders';
import { badInput } from '@lectern/kernel/errors';
import { parseGlobalId } from '@lectern/kernel/ids';
import { MAX_PAGE } from '@lectern/kernel/pagination';

export const NODE_SUBGRAPH = 'node';
/** Routing URL written into the supergraph; the gateway serves this subgraph in-process. */
export const NODE_SUBGRAPH_URL = 'http://node.lectern.internal/graphql';

const NODE_DESCRIPTION = `"""
An object with a globally unique, opaque id: refetch any of them with \`node(id:)\` (or many with
\`nodes(ids:)\`). Clients must not build or parse ids.
"""`;

/** The node subgraph's SDL for these Node types. */
export function nodeSubgraphSdl(nodeTypes: readonly string[]): string {
  const types = [...new Set(nodeTypes)].sort();
  return `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

${NODE_DESCRIPTION}
interface Node @key(fields: "id") {
  "Globally unique and opaque; stable for the object's lifetime."
  id: ID!
}
${types.map((t) => `\ntype ${t} implements Node @key(fields: "id") {\n  id: ID!\n}\n`).join('')}
type Query {
  """
  The object with this id, whatever its type, or null when there is none you may see (it does not
  exist, was deleted, or belongs to another organization: these look the same).
  """
  node("An id from any object's \`id\` field." id: ID!): Node
  """
  The objects with these ids, in the order asked, null where there is none you may see
  (at most ${MAX_PAGE} ids).
  """
  nodes("Ids from objects' \`id\` fields (at most ${MAX_PAGE})." ids: [ID!]!): [Node]!
}
`;
}

/**
 * Object types that implement Node in these subgraph SDLs (name → owning subgraph). A type
 * implements Node in its owner only: a second subgraph saying so is a mistake compose refuses.
 */
export function nodeTypesIn(subgraphs: readonly { name: string; typeDefs: DocumentNode }[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const { name, typeDefs } of subgraphs) {
    for (const def of typeDefs.definitions) {
      if ((def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) && def.interfaces?.some((i) => i.name.value === 'Node')) {
        const owner = owners.get(def.name.value);
        if (owner && owner !== name) throw new Error(`${def.name.value} implements Node in both ${owner} and ${name}: only its owning subgraph may say so`);
        owners.set(def.name.value, name);
      }
    }
  }
  return new Map([...owners].sort(([a], [b]) => a.localeCompare(b)));
}

/** Node types of a composed supergraph and the subgraph that owns each (its `join__implements`). */
export function nodeOwnersOfSupergraph(supergraphSdl: string): Map<string, string> {
  const doc = parse(supergraphSdl);
  const graphNames = new Map<string, string>(); // join__Graph enum value → subgraph name
  for (const def of doc.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === 'join__Graph') {
      for (const value of def.values ?? []) {
        const name = value.directives?.find((d) => d.name.value === 'join__graph')?.arguments?.find((a) => a.name.value === 'name')?.value;
        if (name?.kind === Kind.STRING) graphNames.set(value.name.value, name.value);
      }
    }
  }
  const owners = new Map<string, string>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    for (const d of def.directives ?? []) {
      if (d.name.value !== 'join__implements') continue;
      const arg = (n: string) => d.arguments?.find((a) => a.name.value === n)?.value;
      const graph = arg('graph');
      const iface = arg('interface');
      if (graph?.kind !== Kind.ENUM || iface?.kind !== Kind.STRING || iface.value !== 'Node') continue;
      const subgraph = graphNames.get(graph.value);
      if (subgraph && subgraph !== NODE_SUBGRAPH) owners.set(def.name.value, subgraph);
    }
  }
  return owners;
}

/** Asks `subgraph` which of these objects the request's caller may see (in order). */
export type VisibleCheck = (subgraph: string, refs: { __typename: string; id: string }[], context: unknown) => Promise<boolean[]>;

const ENTITIES = 'query LecternNodeCheck($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }';

/** The `_entities` check of `refs` at their owner, as one operation through `send`. */
export async function visibleAt(
  send: (operation: { query: string; variables: Record<string, unknown> }) => Promise<{ data?: Record<string, unknown> | null; errors?: unknown[] }>,
  refs: { __typename: string; id: string }[],
): Promise<boolean[]> {
  const body = await send({ query: ENTITIES, variables: { representations: refs } });
  const entities = body.data?._entities;
  if (!Array.isArray(entities)) throw new Error('the owning subgraph did not answer _entities');
  return refs.map((_, i) => entities[i] != null);
}

interface NodeContext {
  /** One batch of existence checks per request: every node(id) and nodes(ids) of it. */
  lecternNodeLoader?: DataLoader<string, { __typename: string; id: string } | null>;
}

/** The node subgraph, executed in the gateway process; `visible` asks the owners. */
export function nodeDataSource(owners: ReadonlyMap<string, string>, visible: VisibleCheck): LocalGraphQLDataSource {
  const loaderFor = (context: NodeContext) =>
    (context.lecternNodeLoader ??= new DataLoader(async (ids: readonly string[]) => {
      const refs = ids.map((id) => {
        const parsed = parseGlobalId(id);
        return parsed && owners.has(parsed.type) ? { __typename: parsed.type, id } : null;
      });
      const byOwner = new Map<string, number[]>();
      refs.forEach((ref, i) => {
        if (!ref) return;
        const owner = owners.get(ref.__typename)!;
        byOwner.set(owner, [...(byOwner.get(owner) ?? []), i]);
      });
      const seen = new Array<boolean>(ids.length).fill(false);
      await Promise.all(
        [...byOwner].map(async ([owner, at]) => {
          const answers = await visible(owner, at.map((i) => refs[i]!), context);
          at.forEach((i, k) => (seen[i] = answers[k] ?? false));
        }),
      );
      return refs.map((ref, i) => (seen[i] ? ref : null));
    }));
  const schema = buildSubgraphSchema({
    typeDefs: parse(nodeSubgraphSdl([...owners.keys()])),
    resolvers: {
      Query: {
        node: (_: unknown, args: { id: string }, context: NodeContext) => loaderFor(context).load(args.id),
        nodes: (_: unknown, args: { ids: string[] }, context: NodeContext) => {
          if (args.ids.length > MAX_PAGE) throw badInput(`ids holds at most ${MAX_PAGE} ids`, 'ids');
          return loaderFor(context).loadMany(args.ids);
        },
      },
      Node: {
        __resolveReference: (ref: { id: string }, context: NodeContext) => loaderFor(context).load(ref.id),
        __resolveType: (obj: { __typename: string }) => obj.__typename,
      },
      ...Object.fromEntries([...owners.keys()].map((t) => [t, { __resolveReference: (ref: { id: string }) => ref }])),
    } as never,
  });
  return new LocalGraphQLDataSource(schema);
}
