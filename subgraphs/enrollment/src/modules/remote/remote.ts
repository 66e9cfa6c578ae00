// What enrollment asks other contexts, through their internal endpoints as a signed `service`
// actor: catalog (a course's published version and prerequisites, when an offering is
// scheduled) and identity (who is an active member, and with which roles).
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient } from '@lectern/kernel/service-client';
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
  /** Catalog's view of courses (unknown ids, and another organization's, are left out). */
  courses(tenantId: string, courseIds: string[]): Promise<CourseStructure['courses']>;
  /** Catalog's published (or once published) course versions (unknown ids, drafts and another organization's are left out). */
  courseVersions(tenantId: string, versionIds: string[]): Promise<CourseStructure['versions']>;
  /** Active members among `emails` (any case) and `userIds`; at most 1000 of each a call. */
  members(tenantId: string, query: { emails?: string[]; userIds?: string[] }): Promise<ResolvedMember[]>;
}

/** identity's limit per call. */
export const RESOLVE_BATCH = 1000;

export function remoteContexts(env: { CATALOG_URL: string; IDENTITY_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): Remote {
  // Calls as the `enrollment` service (its own credential; production refuses to start without one).
  const credential = serviceCredential('enrollment', env);
  // A callee that is down is SERVICE_UNAVAILABLE with a retry hint for the request that needed it (a job retries it like any failure).
  const catalog = serviceClient({ baseUrl: env.CATALOG_URL, audience: 'catalog', credential, timeoutMs: 10_000, unavailableAs: 'catalog' });
  const identity = serviceClient({ baseUrl: env.IDENTITY_URL, audience: 'identity', credential, timeoutMs: 10_000, unavailableAs: 'identity' });
  return {
    async courses(tenantId, courseIds) {
      if (!courseIds.length) return [];
      return (await catalog(COURSE_STRUCTURE_PATH, { tenantId, courseIds }, courseStructureResponse, tenantId)).courses;
    },
    async courseVersions(tenantId, versionIds) {
      if (!versionIds.length) return [];
      return (await catalog(COURSE_STRUCTURE_PATH, { tenantId, versionIds }, courseStructureResponse, tenantId)).versions;
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

