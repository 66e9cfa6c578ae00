// The process-wide pieces of the subgraph (the request path), built once at start (the
// definition's `runtime`): the clients of identity's internal endpoints, which tell catalog
// who may be a course's author, and of media's, which tell it whether a lesson's video exists
// and is READY (and how long it is). Catalog cannot read their schemas; it asks.
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient } from '@lectern/kernel/service-client';
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import { RESOLVE_MEMBERS_PATH, resolveMembersResponse } from '@lectern/contracts/identity';
import { VIDEO_STATUS_PATH, videoStatusResponse, type VideoStatusResponse } from '@lectern/contracts/media';
import type { CatalogEnv } from './env.ts';

/** The roles that may author courses (the same as access.ts AUTHOR_REQUIREMENT's). */
const AUTHOR_ROLES = new Set(['ORG_ADMIN', 'INSTRUCTOR']);

/** identity's limit per call. */
const RESOLVE_BATCH = 1000;

/** What catalog asks identity. */
export interface Directory {
  /**
   * Which of `userIds` are active ORG_ADMIN or INSTRUCTOR members of the organization.
   * Unknown ids, another organization's people and members without either role are left out.
   * Throws SERVICE_UNAVAILABLE when identity cannot answer.
   */
  eligibleAuthors(tenantId: string, userIds: string[]): Promise<Set<string>>;
}

/** What media says about one video: its status, duration and, when FAILED, why. */
export type VideoInfo = VideoStatusResponse['videos'][number];

/** media's limit per call. */
const VIDEO_BATCH = 500;

/** What catalog asks media. */
export interface VideoLibrary {
  /**
   * The organization's videos among `videoIds` (plain UUIDs), by id, whatever their status.
   * Unknown ids, deleted videos and another organization's are left out. No ids, no call.
   * Throws SERVICE_UNAVAILABLE when media cannot answer.
   */
  videos(tenantId: string, videoIds: string[]): Promise<Map<string, VideoInfo>>;
}

export interface SubgraphRuntime {
  directory: Directory;
  media: VideoLibrary;
}

export function createSubgraphRuntime({ env }: SubgraphDeps<CatalogEnv>): SubgraphRuntime {
  return { directory: identityDirectory(env), media: mediaLibrary(env) };
}

/** Asks identity's internal endpoint with catalog's own service credential (the pattern of enrollment's remote.ts). */
export function identityDirectory(env: { IDENTITY_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): Directory {
  // Calls as the `catalog` service (its own credential; production refuses to start without one).
  const credential = serviceCredential('catalog', env);
  // Down, timing out or failing: SERVICE_UNAVAILABLE, the caller may retry. Anything else (a 4xx) is a bug here.
  const identity = serviceClient({ baseUrl: env.IDENTITY_URL, audience: 'identity', credential, timeoutMs: 5_000, unavailableAs: 'The member directory (identity)' });
  return {
    async eligibleAuthors(tenantId, userIds) {
      const ids = [...new Set(userIds)];
      if (ids.length === 0) return new Set();
      if (ids.length > RESOLVE_BATCH) throw new Error(`at most ${RESOLVE_BATCH} people a call`);
      const { members } = await identity(RESOLVE_MEMBERS_PATH, { tenantId, userIds: ids, emails: [] }, resolveMembersResponse, tenantId);
      return new Set(members.filter((m) => m.roles.some((r) => AUTHOR_ROLES.has(r))).map((m) => m.userId));
    },
  };
}

/** Asks media's internal endpoint with catalog's own service credential (modelled on identityDirectory). */
export function mediaLibrary(env: { MEDIA_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): VideoLibrary {
  const credential = serviceCredential('catalog', env);
  const media = serviceClient({ baseUrl: env.MEDIA_URL, audience: 'media', credential, timeoutMs: 5_000, unavailableAs: 'media' });
  return {
    async videos(tenantId, videoIds) {
      const ids = [...new Set(videoIds.map((id) => id.toLowerCase()))];
      const found = new Map<string, VideoInfo>();
      // In batches of media's limit, one after the other (a course rarely has more than one batch).
      for (let i = 0; i < ids.length; i += VIDEO_BATCH) {
        const { videos } = await media(VIDEO_STATUS_PATH, { tenantId, videoIds: ids.slice(i, i + VIDEO_BATCH) }, videoStatusResponse, tenantId);
        for (const video of videos) found.set(video.videoId.toLowerCase(), video);
      }
      return found;
    },
  };
}
