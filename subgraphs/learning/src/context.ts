// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { Redis } from 'ioredis';
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { createLoaders, type LearningLoaders } from './loaders.ts';
import { AccessCache } from './modules/heartbeat/access-cache.ts';
import { HeartbeatBuffer } from './modules/heartbeat/buffer.ts';
import { HeartbeatService } from './modules/heartbeat/heartbeat.service.ts';
import { PolicyService } from './modules/policy/policy.service.ts';
import { ProgressReads } from './modules/progress/progress.reads.ts';
import { SyncService } from './modules/progress/sync.service.ts';

export type Context = SubgraphContext & {
  loaders: LearningLoaders;
  reads: ProgressReads;
  heartbeats: HeartbeatService;
  sync: SyncService;
  policies: PolicyService;
};

/** Process-wide Redis helpers (the subgraph's client adds REDIS_PREFIX itself). */
const shared = new WeakMap<Redis, { cache: AccessCache; buffer: HeartbeatBuffer }>();

export function createContext(base: SubgraphContext, redis: Redis): Context {
  let s = shared.get(redis);
  if (!s) {
    s = { cache: new AccessCache(redis, ''), buffer: new HeartbeatBuffer(redis, '') };
    shared.set(redis, s);
  }
  const loaders = createLoaders(base.uow, base.actor.userId);
  const deps = { actor: base.actor, uow: base.uow, loaders };
  return {
    ...base,
    loaders,
    reads: new ProgressReads(deps),
    heartbeats: new HeartbeatService({ actor: base.actor, uow: base.uow, cache: s.cache, buffer: s.buffer }),
    sync: new SyncService(deps),
    policies: new PolicyService(deps),
  };
}
