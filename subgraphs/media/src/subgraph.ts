// The media subgraph as the kernel hosts it: SDL, resolvers, migrations, the per-request
// context, and its HTTP routes (tus uploads, signed playback, the internal status endpoint).
// Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { DateTime } from '@lectern/kernel/scalars';
import { internalRoute } from '@lectern/kernel/internal';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { VIDEO_STATUS_PATH, videoStatusRequest } from '@lectern/contracts/media';
import { createContext, type Context } from './context.ts';
import type { MediaEnv } from './env.ts';
import { entities } from './entities.ts';
import { migrations } from './migrations/index.ts';
import { videoStatus } from './modules/internal/status.ts';
import { playbackRoute } from './modules/playback/playback.ts';
import { uploadRoute } from './modules/upload/tus.ts';
import { videoChanges } from './modules/video/channel.ts';
import { videoResolvers } from './modules/video/video.resolvers.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export { entities };

export const media: SubgraphDefinition<MediaEnv, Context, SubgraphRuntime> = {
  name: 'media',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, deps, runtime) => createContext(base, deps, runtime),
  routes: (deps, rt) => [
    internalRoute(VIDEO_STATUS_PATH, deps.serviceVerifier(), videoStatusRequest, (body) => videoStatus(deps.orm, body), ['catalog']),
    uploadRoute({
      orm: deps.orm, storage: rt.storage, signer: rt.signer, transcodes: rt.transcodes, log: deps.log, workDir: rt.workDir, defaults: rt.defaults,
      changed: videoChanges(deps.publish, deps.log),
    }),
    playbackRoute({ storage: rt.storage, signer: rt.signer, log: deps.log }),
  ],
  // Uploads and playback need the object storage: /readyz says when it does not answer.
  readiness: (_deps, rt) => ({ storage: () => rt.storage.check() }),
  close: (_deps, runtime) => runtime.close(),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, videoResolvers);
}
