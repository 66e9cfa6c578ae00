// What learning asks catalog, through its internal endpoint with the learning service's credential:
// the lessons of a published course version (immutable once published, so fetched once and
// kept as learning's own projection).
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient } from '@lectern/kernel/service-client';
import { COURSE_STRUCTURE_PATH, courseStructureResponse, type CourseStructure } from '@lectern/contracts/catalog';

export type VersionStructure = CourseStructure['versions'][number];
export type CourseFacts = CourseStructure['courses'][number];

export interface CatalogClient {
  /** The courses of `courseIds` that exist in the organization (another organization's are absent, like unknown ones). */
  courses(tenantId: string, courseIds: string[]): Promise<CourseFacts[]>;
  versions(tenantId: string, versionIds: string[]): Promise<VersionStructure[]>;
  /** The version learners see now; null when the course is not published (or unknown). */
  publishedVersionId(tenantId: string, courseId: string): Promise<string | null>;
}

export function catalogClient(env: { CATALOG_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): CatalogClient {
  // Calls as the `learning` service (its own credential; production refuses to start without one).
  const client = serviceClient({ baseUrl: env.CATALOG_URL, audience: 'catalog', credential: serviceCredential('learning', env) });
  const call = (body: { tenantId: string; versionIds?: string[]; courseIds?: string[] }) =>
    client(COURSE_STRUCTURE_PATH, body, courseStructureResponse, body.tenantId);
  return {
    courses: async (tenantId, courseIds) => (courseIds.length ? (await call({ tenantId, courseIds })).courses : []),
    versions: async (tenantId, versionIds) => (await call({ tenantId, versionIds })).versions,
    publishedVersionId: async (tenantId, courseId) => (await call({ tenantId, courseIds: [courseId] })).courses[0]?.publishedVersionId ?? null,
  };
}
