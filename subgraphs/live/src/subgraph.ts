// The live subgraph as the kernel hosts it: SDL, resolvers, entities, migrations, the
// per-request context, and the presence leases of its subscriptions. Used by main.ts and by
// the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { DateTime } from '@lectern/kernel/scalars';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import type { LiveEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { entities } from './modules/session/session.entity.ts';
import { sessionResolvers } from './modules/session/session.resolvers.ts';
import { eventResolvers } from './modules/realtime/event.resolvers.ts';
import { subscriptionResolvers } from './modules/realtime/subscription.resolvers.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export { entities };

export const live: SubgraphDefinition<LiveEnv, Context, SubgraphRuntime> = {
  name: 'live',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, _deps, runtime) => createContext(base, runtime),
  // Presence: every subscription on a session holds a lease while it runs.
  leases: (_deps, runtime) => runtime.presence,
  close: (_deps, runtime) => runtime.close(),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, sessionResolvers, eventResolvers, subscriptionResolvers);
}
