// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { QueueFactory } from '@lectern/kernel/queues';
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { createLoaders, type NotificationsLoaders } from './loaders.ts';
import { InboxService } from './modules/inbox/inbox.service.ts';
import { OperatorService } from './modules/operator/operator.service.ts';
import { PreferenceService } from './modules/preferences/preference.service.ts';

export type Context = SubgraphContext & {
  loaders: NotificationsLoaders;
  inbox: InboxService;
  preferences: PreferenceService;
  operator: OperatorService;
};

export function createContext(base: SubgraphContext, process: { orm: MikroORM; queues: QueueFactory }): Context {
  const loaders = createLoaders(base.uow, base.actor);
  const deps = { actor: base.actor, uow: base.uow, loaders };
  return {
    ...base,
    loaders,
    inbox: new InboxService(deps),
    preferences: new PreferenceService(deps),
    operator: new OperatorService({ actor: base.actor, uow: base.uow, orm: process.orm, queues: process.queues }),
  };
}
