// What notifications asks catalog, through its internal course-structure endpoint with the
// notifications service's own credential: a course's title at send time, so the emails about a
// learner's own course name it (never stored here: the inbox names the course at read time,
// through the gateway, as catalog shows it then).
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient } from '@lectern/kernel/service-client';
import { COURSE_STRUCTURE_PATH, courseStructureResponse } from '@lectern/contracts/catalog';

export interface Courses {
  /** The course's title; null when catalog does not know it (deleted, another organization's). Throws when catalog is down (the event is retried). */
  title(tenantId: string, courseId: string): Promise<string | null>;
}

export function catalogCourses(env: { CATALOG_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): Courses {
  const call = serviceClient({ baseUrl: env.CATALOG_URL, audience: 'catalog', credential: serviceCredential('notifications', env) });
  return {
    async title(tenantId, courseId) {
      const { courses } = await call(COURSE_STRUCTURE_PATH, { tenantId, courseIds: [courseId] }, courseStructureResponse, tenantId);
      return courses[0]?.title || null;
    },
  };
}
