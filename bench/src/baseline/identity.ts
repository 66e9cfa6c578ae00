// Baseline identity subgraph for `pnpm bench catalog`: resolves User entity references
// (`_entities` → displayName) for the users who are members of the caller's organization,
// one SQL statement per request (a DataLoader gathers the representations). Stock
// @apollo/server (standalone) + @apollo/subgraph + pg under forced RLS. Not part of Lectern.
//   env: PORT, DATABASE_URL (as lectern_identity), POOL_MAX
import DataLoader from 'dataloader';
import { parse } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { idOf } from '@lectern/kernel/ids';
import { createPool, isUuid, literal, requireTenant, tenantOf, tenantRows } from './db.ts';
import { baselineEnv } from './env.ts';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id") { id: ID! displayName: String! }
`);

interface User {
  id: string;
  displayName: string;
}
interface Context {
  tenantId: string | null;
  users: DataLoader<string, User | null>;
}

const pool = createPool();

/** Users by id, visible when they have a membership in the tenant (memberships are under RLS). */
function usersLoader(tenantId: string | null) {
  return new DataLoader<string, User | null>(async (ids) => {
    const tenant = requireTenant({ tenantId });
    const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length
      ? await tenantRows<User>(
          pool,
          tenant,
          `select u.id::text as id, u.display_name as "displayName" from users u
            where u.id = any(${literal(`{${valid.join(',')}}`)}::uuid[])
              and exists (select 1 from memberships m where m.tenant_id = ${literal(tenant)} and m.user_id = u.id)`,
        )
      : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  });
}

const resolvers: GraphQLResolverMap<Context> = {
  User: {
    // Global ids, decoded as Lectern's identity does (an id that is not a User's names no one).
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.users.load(idOf(ref.id, 'User') ?? ''),
  },
};

const server = new ApolloServer<Context>({ schema: buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }) });
const { url } = await startStandaloneServer(server, {
  listen: { port: baselineEnv.PORT, host: '127.0.0.1' },
  context: async ({ req }) => {
    const tenantId = tenantOf(req.headers);
    return { tenantId, users: usersLoader(tenantId) };
  },
});
console.log(`baseline identity at ${url}`);
