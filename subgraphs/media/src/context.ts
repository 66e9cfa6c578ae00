// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext, SubgraphDeps } from '@lectern/kernel/subgraph';
import { videoChanges } from './modules/video/channel.ts';
import { viewerOf, type Viewer } from './access.ts';
import { createLoaders, type MediaLoaders } from './loaders.ts';
import type { Playback } from './modules/playback/playback.ts';
import type { SettingsDefaults } from './modules/video/settings.ts';
import { VideoService } from './modules/video/video.service.ts';
import type { SubgraphRuntime } from './runtime.ts';
import type { MediaEnv } from './env.ts';

export type Context = SubgraphContext & {
  viewer: Viewer;
  loaders: MediaLoaders;
  videos: VideoService;
  playback: Playback;
  defaults: SettingsDefaults;
};

export function createContext(base: SubgraphContext, deps: SubgraphDeps<MediaEnv>, rt: SubgraphRuntime): Context {
  const { env } = deps;
  const changed = videoChanges(deps.publish, base.log);
  const viewer = viewerOf(base.actor);
  const loaders = createLoaders(base.uow, base.actor.tenantId, viewer);
  return {
    ...base,
    viewer,
    loaders,
    playback: rt.playback,
    defaults: rt.defaults,
    videos: new VideoService({
      actor: base.actor, uow: base.uow, loaders, storage: rt.storage, transcodes: rt.transcodes, defaults: rt.defaults, uploadExpiryHours: env.UPLOAD_EXPIRY_HOURS, log: base.log,
      changed: (videoId) => {
        if (base.actor.tenantId) changed(base.actor.tenantId, videoId);
      },
    }),
  };
}
