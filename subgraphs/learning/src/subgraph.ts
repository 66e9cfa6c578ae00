// The learning subgraph as the kernel hosts it: SDL, resolvers, entities, migrations and the
// per-request context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { DateTime } from '@lectern/kernel/scalars';
import { createContext, type Context } from './context.ts';
import type { LearningEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { entities } from './modules/progress/progress.entity.ts';
import { progressResolvers } from './modules/progress/progress.resolvers.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export { entities };

export const learning: SubgraphDefinition<LearningEnv, Context, SubgraphRuntime> = {
  name: 'learning',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, _deps, runtime) => createContext(base, runtime),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, progressResolvers);
}
