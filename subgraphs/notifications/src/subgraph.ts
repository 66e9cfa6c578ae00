// The notifications subgraph as the kernel hosts it: SDL, resolvers, entities, migrations and
// the per-request context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import type { NotificationsEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { DigestItemSchema, DigestSchema } from './modules/digest/digest.entity.ts';
import { EmailSentSchema } from './modules/email/email.entity.ts';
import { NotificationSchema } from './modules/inbox/notification.entity.ts';
import { PreferenceSchema } from './modules/preferences/preference.entity.ts';
import { inboxResolvers } from './modules/inbox/inbox.resolvers.ts';
import { operatorResolvers } from './modules/operator/operator.resolvers.ts';
import { preferenceResolvers } from './modules/preferences/preference.resolvers.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import { DateTime } from '@lectern/kernel/scalars';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

/** Every entity of the schema (the subgraph and the worker share the list). */
export const entities = [NotificationSchema, PreferenceSchema, DigestSchema, DigestItemSchema, EmailSentSchema];

export const notifications: SubgraphDefinition<NotificationsEnv, Context, SubgraphRuntime> = {
  name: 'notifications',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, deps, runtime) => createContext(base, { orm: deps.orm, queues: runtime.queues }),
  close: (_deps, runtime) => runtime.close(),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, inboxResolvers, preferenceResolvers, operatorResolvers);
}
