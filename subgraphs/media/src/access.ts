// Who may do what in media.
//
// - Authors (instructors, ORG_ADMIN, API keys with media:write; media:read reads) see every video
//   of their organization, upload, caption, rename and delete them, and play any of them.
// - Anyone else in the organization (learners, support) sees a video, and may play it, once it is
//   in a course version that was published (published_videos, media's projection of catalog's
//   CoursePublished): a video a learner cannot reach through a lesson is NOT there for them.
// - ORG_ADMIN sets the organization's upload rules and sees its storage use.
// Another organization's video is simply not there (null / NOT_FOUND, as for a missing one).
import { authorize, type Actor } from '@lectern/kernel';

export type Member = Actor & { tenantId: string };

export interface Viewer {
  userId: string | null;
  /** Sees every video of the organization and its processing (authors, media API keys). */
  author: boolean;
  /** Changes videos (authors, media:write keys). */
  writer: boolean;
  /** Organization settings and storage use (ORG_ADMIN, operators). */
  admin: boolean;
}

const hasScope = (actor: Actor, scope: string) => actor.kind === 'api_key' && actor.scopes.includes(scope);

export function viewerOf(actor: Actor): Viewer {
  const admin = actor.superAdmin || actor.roles.includes('ORG_ADMIN');
  const writer = admin || actor.roles.includes('INSTRUCTOR') || hasScope(actor, 'media:write');
  return { userId: actor.kind === 'user' ? actor.userId : null, author: writer || hasScope(actor, 'media:read'), writer, admin };
}

/** Uploading and changing videos: instructors, ORG_ADMIN, API keys with media:write. */
export function requireWriter(actor: Actor): asserts actor is Member {
  if (actor.kind === 'api_key') return authorize(actor, { scope: 'media:write' });
  authorize(actor, { roles: ['ORG_ADMIN', 'INSTRUCTOR'] });
}

/** The organization's upload rules: ORG_ADMIN only. */
export function requireAdmin(actor: Actor): asserts actor is Member {
  authorize(actor, { roles: ['ORG_ADMIN'] });
}
