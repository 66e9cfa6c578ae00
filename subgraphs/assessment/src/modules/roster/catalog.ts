// What assessment asks catalog, through its internal endpoint as the signed `assessment`
// service: whether a course exists in the organization (a quiz belongs to one; drafts count, as
// a quiz is written before its course is published).
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient } from '@lectern/kernel/service-client';
import { COURSE_STRUCTURE_PATH, courseStructureResponse } from '@lectern/contracts/catalog';

export interface Catalog {
  /** Which of `courseIds` exist in the organization (unknown ids and another organization's are left out). */
  existingCourses(tenantId: string, courseIds: string[]): Promise<Set<string>>;
}

export function catalogClient(env: { CATALOG_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): Catalog {
  const call = serviceClient({ baseUrl: env.CATALOG_URL, audience: 'catalog', credential: serviceCredential('assessment', env), timeoutMs: 5_000, unavailableAs: 'catalog' });
  return {
    async existingCourses(tenantId, courseIds) {
      if (!courseIds.length) return new Set();
      const res = await call(COURSE_STRUCTURE_PATH, { tenantId, courseIds }, courseStructureResponse, tenantId);
      return new Set(res.courses.map((c) => c.courseId));
    },
  };
}
