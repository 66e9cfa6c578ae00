// The certification subgraph as the kernel hosts it: SDL, resolvers, migrations, the
// per-request context, and its public HTTP routes (verification page and endpoint, status
// lists, PDF downloads). Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { DateTime } from '@lectern/kernel/scalars';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import type { CertificationEnv } from './env.ts';
import { entities } from './entities.ts';
import { migrations } from './migrations/index.ts';
import { certificateResolvers } from './modules/certificate/certificate.resolvers.ts';
import { statusRoute } from './modules/status/status-lists.ts';
import { publicRoutes } from './modules/verification/routes.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export { entities };

export const certification: SubgraphDefinition<CertificationEnv, Context, SubgraphRuntime> = {
  name: 'certification',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, deps, runtime) => createContext(base, deps, runtime),
  routes: (deps, rt) => [
    statusRoute(deps.orm),
    ...publicRoutes({ orm: deps.orm, verifier: rt.verifier, urls: rt.urls, storage: rt.storage, directory: rt.directory, log: deps.log }),
  ],
  // The verifier limits each client address: behind an ingress, X-Forwarded-For's (TRUST_PROXY).
  trustProxy: (env) => env.TRUST_PROXY,
  // PDF downloads need the object storage: /readyz says when it does not answer.
  readiness: (_deps, rt) => ({ storage: () => rt.storage.check() }),
  close: (_deps, runtime) => runtime.close(),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, certificateResolvers);
}
