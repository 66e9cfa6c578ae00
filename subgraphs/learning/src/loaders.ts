// One DataLoader per lookup, created once per request: 1 or 100 enrollments' progress cost
// the same statements. Queries run in the request's unit of work (the caller's organization).
import type { DataLoader } from '@lectern/kernel';
import { manyLoader, oneLoader, type UnitOfWork } from '@lectern/kernel';
import { CohortInstructor, CompletionPolicyRow, Enrollment, LessonProgress, VersionLesson } from './modules/progress/progress.entity.ts';

export function createLoaders(uow: UnitOfWork, userId: string | null) {
  const em = () => uow.em();
  let taught: Promise<Set<string>> | undefined;
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
    lessonsByVersion: manyLoader<string, VersionLesson>(
      async (versionIds) => (await em()).find(VersionLesson, { versionId: { $in: [...versionIds] } }, { orderBy: { versionId: 'asc', position: 'asc' } }),
      (l) => l.versionId,
    ),
    progressByEnrollment: manyLoader<string, LessonProgress>(
      async (ids) => (await em()).find(LessonProgress, { enrollmentId: { $in: [...ids] } }),
      (p) => p.enrollmentId,
    ),
    policy: oneLoader<string, CompletionPolicyRow>(async (ids) => (await em()).find(CompletionPolicyRow, { courseId: { $in: [...ids] } }), (p) => p.courseId),
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
