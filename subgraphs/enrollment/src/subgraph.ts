// The enrollment subgraph as the kernel hosts it: SDL, resolvers, entities, migrations and the
// per-request context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import type { SubgraphDefinition } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import type { EnrollmentEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export const entities = [];

export const enrollment: SubgraphDefinition<EnrollmentEnv, Context> = {
  name: 'enrollment',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  context: (base) => createContext(base),
};

function resolvers(): Resolvers {
  return { Query: { enrollmentVersion: () => '0' } };
}
