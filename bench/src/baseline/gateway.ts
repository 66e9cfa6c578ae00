// Stock @apollo/gateway for `pnpm bench catalog`: IntrospectAndCompose over the two baseline
// subgraphs, the default RemoteGraphQLDataSource, Apollo Server standalone. Its only addition
// is passing the caller's `x-tenant-id` header on to the subgraphs. Not part of Lectern.
//   env: PORT, CATALOG_URL, IDENTITY_URL
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { tenantOf } from './db.ts';
import { baselineEnv } from './env.ts';

interface Context {
  tenantId: string | null;
}

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [
      { name: 'catalog', url: baselineEnv.CATALOG_URL },
      { name: 'identity', url: baselineEnv.IDENTITY_URL },
    ],
  }),
  buildService: ({ url }) =>
    new RemoteGraphQLDataSource<Context>({
      url,
      willSendRequest({ request, context }) {
        if (context.tenantId) request.http?.headers.set('x-tenant-id', context.tenantId);
      },
    }),
});
const server = new ApolloServer<Context>({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: baselineEnv.PORT, host: '127.0.0.1' }, context: async ({ req }) => ({ tenantId: tenantOf(req.headers) }) });
console.log(`stock gateway at ${url}`);
