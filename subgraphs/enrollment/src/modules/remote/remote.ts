// What enrollment asks other contexts, through their internal endpoints as a signed `service`
// actor: catalog (a course's published version and prerequisites, when an offering is
// scheduled) and identity (who is an active member, and with which roles).
import { ActorSigner } from '@lectern/kernel/actor';
import { DEV_ACTOR_PRIVATE_KEY, requireKey } from '@lectern/kernel/dev-keys';
import { serviceClient, type ServiceClient } from '@lectern/kernel/service-client';
import { COURSE_STRUCTURE_PATH, courseStructureResponse, type CourseStructure } from '@lectern/contracts/catalog';
import { RESOLVE_MEMBERS_PATH, resolveMembersResponse } from '@lectern/contracts/identity';
import type { Role } from '@lectern/kernel';

/** Another context's entity (User, Course), as enrollment knows it: its id. */
export interface EntityRef {
  id: string;
}

export interface ResolvedMember {
  userId: string;
  email: string;
  roles: Role[];
}

export interface Remote {
  /** Catalog's view of courses (unknown ids are left out). */
  courses(tenantId: string, courseIds: string[]): Promise<CourseStructure['courses']>;
  /** Active members among `emails` (any case) and `userIds`; at most 1000 of each a call. */
  members(tenantId: string, query: { emails?: string[]; userIds?: string[] }): Promise<ResolvedMember[]>;
}

/** identity's limit per call. */
export const RESOLVE_BATCH = 1000;

export function remoteContexts(env: { CATALOG_URL: string; IDENTITY_URL: string; ACTOR_SIGNING_KEY?: string | undefined; NODE_ENV: string }): Remote {
  // The key is checked now (a production process without one must not start), imported lazily.
  const jwk = requireKey(env.ACTOR_SIGNING_KEY, DEV_ACTOR_PRIVATE_KEY, 'ACTOR_SIGNING_KEY', env.NODE_ENV);
  let signer: Promise<ActorSigner> | undefined;
  const client = (baseUrl: string): ServiceClient => {
    let c: Promise<ServiceClient> | undefined;
    return async (path, body, response, tenantId) => {
      signer ??= ActorSigner.fromJwk(jwk);
      c ??= signer.then((s) => serviceClient({ baseUrl, signer: s, timeoutMs: 10_000 }));
      return (await c)(path, body, response, tenantId);
    };
  };
  const catalog = client(env.CATALOG_URL);
  const identity = client(env.IDENTITY_URL);
  return {
    async courses(tenantId, courseIds) {
      if (!courseIds.length) return [];
      return (await catalog(COURSE_STRUCTURE_PATH, { tenantId, courseIds }, courseStructureResponse, tenantId)).courses;
    },
    async members(tenantId, query) {
      const emails = query.emails ?? [];
      const userIds = query.userIds ?? [];
      if (!emails.length && !userIds.length) return [];
      if (emails.length > RESOLVE_BATCH || userIds.length > RESOLVE_BATCH) throw new Error(`at most ${RESOLVE_BATCH} people a call`);
      return (await identity(RESOLVE_MEMBERS_PATH, { tenantId, emails, userIds }, resolveMembersResponse, tenantId)).members;
    },
  };
}
