// One DataLoader per lookup, created once per request: 1 or 100 enrollments' progress cost
// the same statements. Queries run in the request's unit of work (the caller's organization);
// the course lookup asks catalog (one call per request's batch).
import type { DataLoader } from '@lectern/kernel';
import { manyLoader, oneLoader, serviceUnavailable, type UnitOfWork } from '@lectern/kernel';
import { ServiceCallError } from '@lectern/kernel/service-client';
import type { CatalogClient } from './modules/projection/catalog-client.ts';
import { CohortInstructor, CompletionPolicyRow, Enrollment, LessonProgress, VersionLesson } from './modules/progress/progress.entity.ts';

/** The key of a learner's progress in a course, or in a lesson: `learnerId|otherId`. */
export const pairKey = (learnerId: string, otherId: string) => `${learnerId}|${otherId}`;
const splitKey = (key: string) => key.split('|') as [string, string];

/** The enrollment a (learner, course) pair's progress is: the most recent one not dropped, else the most recent. */
const latest = (list: Enrollment[]): Enrollment | null => list.find((e) => e.status !== 'DROPPED') ?? list[0] ?? null;

/** A catalog that is down or failing is SERVICE_UNAVAILABLE (retry), not an internal error. */
export async function askCatalog<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ServiceCallError && err.unavailable) throw serviceUnavailable('The course catalog');
    throw err;
  }
}

export function createLoaders(uow: UnitOfWork, actor: { tenantId: string | null; userId: string | null }, catalog: CatalogClient) {
  const em = () => uow.em();
  const { userId, tenantId } = actor;
  let taught: Promise<Set<string>> | undefined;
  const enrollmentsOf = async (pairs: [string, string][], by: 'courseId') =>
    pairs.length
      ? (await em()).find(
          Enrollment,
          { $or: pairs.map(([learnerId, other]) => ({ learnerId, [by]: other })) },
          { orderBy: { enrolledAt: 'desc', id: 'desc' } },
        )
      : [];
  const loaders = {
    enrollment: oneLoader<string, Enrollment>(async (ids) => (await em()).find(Enrollment, { id: { $in: [...ids] } }), (e) => e.id),
    /** The caller's enrollments per course (not dropped), most recent first. */
    myEnrollmentsByCourse: manyLoader<string, Enrollment>(
      async (courseIds) =>
        userId
          ? (await em()).find(Enrollment, { learnerId: userId, courseId: { $in: [...courseIds] }, status: { $ne: 'DROPPED' } }, { orderBy: { enrolledAt: 'desc', id: 'desc' } })
          : [],
      (e) => e.courseId,
    ),
    /** Per `learnerId|courseId`: the enrollment whose progress CourseProgress shows (see `latest`). */
    progressEnrollment: oneLoader<string, { key: string; enrollment: Enrollment }>(async (keys) => {
      const rows = await enrollmentsOf(keys.map(splitKey), 'courseId');
      return keys.flatMap((key) => {
        const [learnerId, courseId] = splitKey(key);
        const enrollment = latest(rows.filter((e) => e.learnerId === learnerId && e.courseId === courseId));
        return enrollment ? [{ key, enrollment }] : [];
      });
    }, (r) => r.key),
    /** Per `learnerId|lessonId`: the learner's most recent enrollment whose course version holds the lesson, with the lesson. */
    lessonEnrollment: oneLoader<string, { key: string; enrollment: Enrollment; lesson: VersionLesson }>(async (keys) => {
      const pairs = keys.map(splitKey);
      const lessons = await (await em()).find(VersionLesson, { lessonId: { $in: [...new Set(pairs.map(([, l]) => l))] } });
      if (!lessons.length) return [];
      const enrollments = await (await em()).find(
        Enrollment,
        { learnerId: { $in: [...new Set(pairs.map(([u]) => u))] }, courseVersionId: { $in: [...new Set(lessons.map((l) => l.versionId))] } },
        { orderBy: { enrolledAt: 'desc', id: 'desc' } },
      );
      return pairs.flatMap(([learnerId, lessonId]) => {
        const versions = lessons.filter((l) => l.lessonId === lessonId);
        const enrollment = latest(enrollments.filter((e) => e.learnerId === learnerId && versions.some((v) => v.versionId === e.courseVersionId)));
        const lesson = versions.find((v) => v.versionId === enrollment?.courseVersionId);
        return enrollment && lesson ? [{ key: pairKey(learnerId, lessonId), enrollment, lesson }] : [];
      });
    }, (r) => r.key),
    lessonsByVersion: manyLoader<string, VersionLesson>(
      async (versionIds) => (await em()).find(VersionLesson, { versionId: { $in: [...versionIds] } }, { orderBy: { versionId: 'asc', position: 'asc' } }),
      (l) => l.versionId,
    ),
    progressByEnrollment: manyLoader<string, LessonProgress>(
      async (ids) => (await em()).find(LessonProgress, { enrollmentId: { $in: [...ids] } }),
      (p) => p.enrollmentId,
    ),
    policy: oneLoader<string, CompletionPolicyRow>(async (ids) => (await em()).find(CompletionPolicyRow, { courseId: { $in: [...ids] } }), (p) => p.courseId),
    /** Whether the course exists in the caller's organization (catalog's answer; another organization's reads as missing). */
    courseExists: oneLoader<string, string>(async (ids) => {
      if (!tenantId) return [];
      const found = await askCatalog(() => catalog.courses(tenantId, [...ids]));
      return found.map((c) => c.courseId);
    }, (id) => id),
  };
  const all: DataLoader<string, unknown>[] = Object.values(loaders);
  return {
    ...loaders,
    /** Cohorts the caller teaches (loaded once per request, only when asked). */
    taughtCohorts(): Promise<Set<string>> {
      taught ??= userId
        ? em().then(async (m) => new Set((await m.find(CohortInstructor, { instructorId: userId })).map((c) => c.cohortId)))
        : Promise.resolve(new Set());
      return taught;
    },
    clearAll() {
      for (const loader of all) loader.clearAll();
      taught = undefined;
    },
  };
}

export type LearningLoaders = ReturnType<typeof createLoaders>;
