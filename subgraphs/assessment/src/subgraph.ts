// The assessment subgraph as the kernel hosts it: SDL, resolvers, migrations, the per-request
// context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { DateTime } from '@lectern/kernel/scalars';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import type { AssessmentEnv } from './env.ts';
import { entities } from './entities.ts';
import { migrations } from './migrations/index.ts';
import { attemptResolvers } from './modules/attempt/attempt.resolvers.ts';
import { bankResolvers } from './modules/bank/bank.resolvers.ts';
import { quizResolvers } from './modules/quiz/quiz.resolvers.ts';
import { payloadResolvers } from './payloads.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export { entities };

export const assessment: SubgraphDefinition<AssessmentEnv, Context, SubgraphRuntime> = {
  name: 'assessment',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, _deps, runtime) => createContext(base, runtime),
  close: (_deps, runtime) => runtime.close(),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, bankResolvers, quizResolvers, attemptResolvers, payloadResolvers);
}
