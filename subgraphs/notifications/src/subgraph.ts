// The notifications subgraph as the kernel hosts it: SDL, resolvers, entities, migrations and
// the per-request context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { bullPrefix, producerConnection, queueFactory, type QueueFactory } from '@lectern/kernel/queues';
import type { SubgraphDefinition, SubgraphDeps } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import { entities } from './entities.ts';
import type { NotificationsEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { inboxResolvers } from './modules/inbox/inbox.resolvers.ts';
import { operatorResolvers } from './modules/operator/operator.resolvers.ts';
import { preferenceResolvers } from './modules/preferences/preference.resolvers.ts';
import { DateTime } from '@lectern/kernel/scalars';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

/** Queues the request path reads (operator view) and replays into: fail fast while Redis is down. */
const queuesOf = new WeakMap<object, { queues: QueueFactory; close(): Promise<void> }>();

function processQueues(deps: SubgraphDeps<NotificationsEnv>): QueueFactory {
  const q = queuesOf.get(deps);
  if (!q) throw new Error('notifications queues not initialised');
  return q.queues;
}

export const notifications: SubgraphDefinition<NotificationsEnv, Context> = {
  name: 'notifications',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  async init(deps) {
    const connection = producerConnection(deps.env.REDIS_URL);
    const queues = queueFactory(connection, bullPrefix(deps.env.REDIS_PREFIX));
    queuesOf.set(deps, {
      queues,
      async close() {
        await queues.close().catch(() => {});
        connection.disconnect();
      },
    });
  },
  async close(deps) {
    await queuesOf.get(deps)?.close();
  },
  context: (base, deps) => createContext(base, { orm: deps.orm, queues: processQueues(deps) }),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return {
    DateTime,
    Query: { ...inboxResolvers.Query, ...preferenceResolvers.Query, ...operatorResolvers.Query },
    Mutation: { ...inboxResolvers.Mutation, ...preferenceResolvers.Mutation, ...operatorResolvers.Mutation },
    Notification: inboxResolvers.Notification,
    MarkNotificationsReadPayload: inboxResolvers.MarkNotificationsReadPayload,
    SetNotificationPreferencePayload: preferenceResolvers.SetNotificationPreferencePayload,
    QueueHealth: operatorResolvers.QueueHealth,
    DeadLetter: operatorResolvers.DeadLetter,
    ReplayDeadLetterPayload: operatorResolvers.ReplayDeadLetterPayload,
  };
}
