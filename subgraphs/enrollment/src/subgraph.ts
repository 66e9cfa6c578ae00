// The enrollment subgraph as the kernel hosts it: SDL, resolvers, entities, migrations and the
// per-request context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { DateTime } from '@lectern/kernel/scalars';
import type { SubgraphDefinition } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import { entities } from './entities.ts';
import type { EnrollmentEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { resolvers as moduleResolvers } from './modules/resolvers.ts';
import { createSubgraphRuntime, subgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export { entities };

export const enrollment: SubgraphDefinition<EnrollmentEnv, Context> = {
  name: 'enrollment',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  async init(deps) {
    createSubgraphRuntime(deps, deps.env);
  },
  async close(deps) {
    await subgraphRuntime(deps).close();
  },
  context: (base, deps) => createContext(base, subgraphRuntime(deps)),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return { DateTime, ...moduleResolvers };
}
