// Why a lesson a learner sent progress for is refused (recordProgress, syncProgress): the
// lesson is of another version of a course they are enrolled in than the one their offering
// runs (LESSON_NOT_IN_VERSION: e.g. a version catalog published after the offering started),
// or of no course they are enrolled in (NOT_ENROLLED). Only refusals pay for this: the
// projection's known versions first, then catalog's published versions of the enrolled
// courses (one call). When catalog cannot say, the answer is NOT_ENROLLED: a refusal either way.
import type { EntityManager } from '@mikro-orm/postgresql';
import { lessonNotInVersion, notEnrolled, type LearningError } from '../../errors.ts';
import type { CatalogClient } from '../projection/catalog-client.ts';
import { enrolledCourses } from './heartbeat.store.ts';

/** The error of each refused lesson (`refused`: lesson id → the input field it came from). */
export async function refusals(em: EntityManager, catalog: CatalogClient, tenantId: string, learnerId: string, refused: readonly { lessonId: string; field: string }[]): Promise<LearningError[]> {
  if (!refused.length) return [];
  const lessonIds = [...new Set(refused.map((r) => r.lessonId))];
  const { courseIds, pinned, otherVersionLessons: other } = await enrolledCourses(em, tenantId, learnerId, lessonIds);
  const unknown = lessonIds.filter((l) => !other.has(l));
  if (courseIds.length && unknown.length) {
    try {
      const published = (await catalog.courses(tenantId, courseIds.slice(0, 100)))
        .map((c) => c.publishedVersionId)
        .filter((v): v is string => v !== null && !pinned.includes(v));
      if (published.length) {
        for (const version of await catalog.versions(tenantId, published)) for (const l of version.lessons) if (unknown.includes(l.lessonId)) other.add(l.lessonId);
      }
    } catch {
      // catalog is down: NOT_ENROLLED below (still a refusal).
    }
  }
  return refused.map((r) => (other.has(r.lessonId) ? lessonNotInVersion(r.field) : notEnrolled(r.field)));
}
