// Baseline catalog subgraph for `pnpm bench catalog`: the smallest thing that serves the same
// page as Lectern's catalog (`courses(first) { nodes { id title status authors { id } } }`,
// learner view: published courses newest first, title of the published version, authors as
// references to identity's User). Stock @apollo/server (standalone) + @apollo/subgraph + one
// SQL statement per page under the runtime role and forced RLS. Not part of Lectern.
//   env: PORT, DATABASE_URL (as lectern_catalog), POOL_MAX
import { GraphQLError, parse } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { globalId } from '@lectern/kernel/ids';
import { createPool, literal, requireTenant, tenantOf, tenantRows } from './db.ts';
import { baselineEnv } from './env.ts';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id", resolvable: false) { id: ID! }
  enum CourseStatus { DRAFT PUBLISHED UNPUBLISHED }
  type Course { id: ID! title: String! status: CourseStatus! authors: [User!]! }
  type CourseConnection { nodes: [Course!]! }
  type Query { courses(first: Int): CourseConnection! }
`);

interface Context {
  tenantId: string | null;
}
interface Row {
  id: string;
  title: string;
  status: string;
  authors: string[];
}

const pool = createPool();

const resolvers: GraphQLResolverMap<Context> = {
  Query: {
    async courses(_: unknown, { first }: { first?: number | null }, ctx: Context) {
      const limit = first ?? 20;
      if (!Number.isInteger(limit) || limit < 0 || limit > 100) throw new GraphQLError('first must be between 0 and 100', { extensions: { code: 'BAD_USER_INPUT' } });
      const tenantId = requireTenant(ctx);
      const rows = await tenantRows<Row>(
        pool,
        tenantId,
        `select c.id, v.title, c.status,
                array(select a.user_id::text from course_authors a
                       where a.tenant_id = c.tenant_id and a.course_id = c.id
                       order by a.added_at, a.user_id) as authors
           from courses c
           join course_versions v on v.tenant_id = c.tenant_id and v.id = c.published_version_id
          where c.tenant_id = ${literal(tenantId)}
          order by c.created_at desc, c.id desc
          limit ${limit}`,
      );
      // Opaque global ids, as Lectern answers (the same encoding, so both do the same work).
      return { nodes: rows.map((r) => ({ ...r, id: globalId('Course', r.id), authors: r.authors.map((id) => ({ id: globalId('User', id) })) })) };
    },
  },
};

const server = new ApolloServer<Context>({ schema: buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }) });
const { url } = await startStandaloneServer(server, { listen: { port: baselineEnv.PORT, host: '127.0.0.1' }, context: async ({ req }) => ({ tenantId: tenantOf(req.headers) }) });
console.log(`baseline catalog at ${url}`);
