// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { createLoaders, type LearningLoaders } from './loaders.ts';
import { HeartbeatService } from './modules/heartbeat/heartbeat.service.ts';
import { PolicyService } from './modules/policy/policy.service.ts';
import { ProgressReads } from './modules/progress/progress.reads.ts';
import { SyncService } from './modules/progress/sync.service.ts';
import type { SubgraphRuntime } from './runtime.ts';

export type Context = SubgraphContext & {
  loaders: LearningLoaders;
  reads: ProgressReads;
  heartbeats: HeartbeatService;
  sync: SyncService;
  policies: PolicyService;
};

export function createContext(base: SubgraphContext, runtime: SubgraphRuntime): Context {
  const loaders = createLoaders(base.uow, base.actor, runtime.catalog);
  const deps = { actor: base.actor, uow: base.uow, loaders };
  return {
    ...base,
    loaders,
    reads: new ProgressReads(deps),
    heartbeats: new HeartbeatService({ actor: base.actor, uow: base.uow, cache: runtime.cache, buffer: runtime.buffer, catalog: runtime.catalog }),
    sync: new SyncService({ ...deps, catalog: runtime.catalog }),
    policies: new PolicyService(deps),
  };
}
