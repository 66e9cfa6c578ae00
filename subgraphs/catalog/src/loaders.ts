// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Queries run
// in the request's unit of work, so they see only the caller's organization.
// Course reads that only serve a response are plain rows (course.store.ts), not managed entities.
import { DataLoader, manyLoader, oneLoader, type UnitOfWork } from '@lectern/kernel';
import { CoursePrerequisite } from './modules/course/course.entity.ts';
import {
  authorIdsByCourse,
  coursesById,
  versionHeadsById,
  versionsById,
  type CourseRecord,
  type VersionHead,
  type VersionRecord,
} from './modules/course/course.store.ts';
import { CourseModule, Lesson } from './modules/content/content.entity.ts';

export function createLoaders(uow: UnitOfWork) {
  const em = () => uow.em();
  /** Rows fetched as a relation also answer later lookups by id. */
  const primed = <V extends { id: string }>(loader: DataLoader<string, V | null>, rows: V[]) => {
    for (const row of rows) loader.prime(row.id, row);
    return rows;
  };
  const module = oneLoader<string, CourseModule>(async (ids) => (await em()).find(CourseModule, { id: { $in: [...ids] } }), (m) => m.id);
  const lesson = oneLoader<string, Lesson>(async (ids) => (await em()).find(Lesson, { id: { $in: [...ids] } }), (l) => l.id);
  const loaders = {
    course: oneLoader<string, CourseRecord>(async (ids) => coursesById(uow, uow.tenantId, ids), (c) => c.id),
    version: oneLoader<string, VersionRecord>(async (ids) => versionsById(uow, uow.tenantId, ids), (v) => v.id),
    /** Title and status of a version (a listing primes them from its own statement). */
    versionHead: oneLoader<string, VersionHead>(async (ids) => versionHeadsById(uow, uow.tenantId, ids), (v) => v.id),
    module,
    lesson,
    modulesByVersion: manyLoader<string, CourseModule>(
      async (versionIds) => primed(module, await (await em()).find(CourseModule, { versionId: { $in: [...versionIds] } }, { orderBy: { position: 'asc' } })),
      (m) => m.versionId,
    ),
    lessonsByModule: manyLoader<string, Lesson>(
      async (moduleIds) => primed(lesson, await (await em()).find(Lesson, { moduleId: { $in: [...moduleIds] } }, { orderBy: { position: 'asc' } })),
      (l) => l.moduleId,
    ),
    /** Author user ids per course, in the order they were added (a listing primes them). */
    authorIdsByCourse: new DataLoader<string, string[]>(async (courseIds) => {
      const byCourse = new Map<string, string[]>();
      for (const a of await authorIdsByCourse(uow, uow.tenantId, courseIds)) {
        const list = byCourse.get(a.courseId);
        if (list) list.push(a.userId);
        else byCourse.set(a.courseId, [a.userId]);
      }
      return courseIds.map((id) => byCourse.get(id) ?? []);
    }),
    prerequisitesByCourse: manyLoader<string, CoursePrerequisite>(
      async (courseIds) =>
        (await em()).find(CoursePrerequisite, { courseId: { $in: [...courseIds] } }, { orderBy: { createdAt: 'asc', prerequisiteCourseId: 'asc' } }),
      (p) => p.courseId,
    ),
  };
  const all: DataLoader<string, unknown>[] = Object.values(loaders);
  return {
    ...loaders,
    /** Forgets everything loaded so far: a mutation's payload must show the state it left. */
    clearAll() {
      for (const loader of all) loader.clearAll();
    },
  };
}

export type CatalogLoaders = ReturnType<typeof createLoaders>;
