// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { managesAll } from './access.ts';
import { createLoaders, type LiveLoaders, type Viewer } from './loaders.ts';
import { ChatService } from './modules/chat/chat.service.ts';
import { SessionReads } from './modules/session/session.reads.ts';
import { SessionService } from './modules/session/session.service.ts';
import type { PresenceService } from './modules/presence/presence.service.ts';
import type { SubgraphRuntime } from './runtime.ts';

export type Context = SubgraphContext & {
  loaders: LiveLoaders;
  viewer: Viewer;
  reads: SessionReads;
  sessions: SessionService;
  chat: ChatService;
  presence: PresenceService;
};

export function createContext(base: SubgraphContext, rt: SubgraphRuntime): Context {
  const { actor } = base;
  const viewer: Viewer = managesAll(actor) ? { all: true, userId: actor.userId } : { all: false, userId: actor.userId ?? '00000000-0000-0000-0000-000000000000' };
  const loaders = createLoaders(base.uow, actor.tenantId, viewer, rt.presence);
  const deps = { actor, uow: base.uow, loaders, viewer, presence: rt.presence, rateLimiter: rt.rateLimiter, publisher: rt.publisher };
  return {
    ...base,
    loaders,
    viewer,
    reads: new SessionReads(deps),
    sessions: new SessionService(deps),
    chat: new ChatService(deps),
    presence: rt.presence,
  };
}
