// What certification asks other contexts, as the signed `certification` service: identity for
// the organization's name (the credential's issuer) and the learner's name and email (the PDF,
// and the credential's hashed identifier), at issue time and never stored here; catalog for a
// course's existence (a rule names a course of the organization) and what a completed version
// is called and which quizzes it has.
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient } from '@lectern/kernel/service-client';
import { COURSE_STRUCTURE_PATH, courseStructureResponse } from '@lectern/contracts/catalog';
import { CONTACTS_PATH, contactsResponse, ORGANIZATION_PROFILE_PATH, organizationProfileResponse } from '@lectern/contracts/identity';

export interface VersionFacts {
  versionId: string;
  courseId: string;
  title: string;
  description: string;
  quizIds: string[];
}

/** How long an organization's name is reused: a batch of certificates asks identity once, and a rename shows within a minute. */
const ORGANIZATION_NAME_TTL_MS = 60_000;

export interface Directory {
  /** The organization's display name (throws while identity cannot answer); reused for ORGANIZATION_NAME_TTL_MS. */
  organizationName(tenantId: string): Promise<string>;
  /** A member's name and email, or null when they are no longer a member. */
  learner(tenantId: string, userId: string): Promise<{ email: string; displayName: string } | null>;
  /** Which of these course ids are courses of the organization. */
  existingCourses(tenantId: string, courseIds: string[]): Promise<Set<string>>;
  /** A published version's title, description and quizzes; null when catalog does not know it. */
  version(tenantId: string, versionId: string): Promise<VersionFacts | null>;
}

type Env = { CATALOG_URL: string; IDENTITY_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string };

/**
 * The directory over identity and catalog. `unavailable` (the request path) turns a down callee
 * into SERVICE_UNAVAILABLE; workers leave it out and retry whatever failed.
 */
export function directory(env: Env, opts: { unavailable?: boolean } = {}): Directory {
  const credential = serviceCredential('certification', env);
  const identity = serviceClient({ baseUrl: env.IDENTITY_URL, audience: 'identity', credential, timeoutMs: 5_000, ...(opts.unavailable ? { unavailableAs: 'Identity' } : {}) });
  const catalog = serviceClient({ baseUrl: env.CATALOG_URL, audience: 'catalog', credential, timeoutMs: 5_000, ...(opts.unavailable ? { unavailableAs: 'The catalog' } : {}) });
  const names = new Map<string, { name: string; until: number }>();
  return {
    async organizationName(tenantId) {
      const known = names.get(tenantId);
      if (known && known.until > Date.now()) return known.name;
      const { organization } = await identity(ORGANIZATION_PROFILE_PATH, { tenantId }, organizationProfileResponse, tenantId);
      names.set(tenantId, { name: organization.name, until: Date.now() + ORGANIZATION_NAME_TTL_MS });
      return organization.name;
    },
    async learner(tenantId, userId) {
      const { contacts } = await identity(CONTACTS_PATH, { tenantId, userIds: [userId] }, contactsResponse, tenantId);
      const c = contacts.find((x) => x.userId === userId);
      return c ? { email: c.email, displayName: c.displayName } : null;
    },
    async existingCourses(tenantId, courseIds) {
      if (!courseIds.length) return new Set();
      const res = await catalog(COURSE_STRUCTURE_PATH, { tenantId, courseIds, versionIds: [] }, courseStructureResponse, tenantId);
      return new Set(res.courses.map((c) => c.courseId));
    },
    async version(tenantId, versionId) {
      const res = await catalog(COURSE_STRUCTURE_PATH, { tenantId, courseIds: [], versionIds: [versionId] }, courseStructureResponse, tenantId);
      const v = res.versions.find((x) => x.versionId === versionId);
      if (!v) return null;
      return {
        versionId,
        courseId: v.courseId,
        title: v.title,
        description: v.description,
        quizIds: [...new Set(v.lessons.flatMap((l) => (l.kind === 'QUIZ' && l.quizId ? [l.quizId] : [])))],
      };
    },
  };
}
