// Course, CourseVersion, the course-level queries and mutations, and the payload fields all
// mutations share. Thin: decode global ids, call CatalogQueries / CourseService, and turn the
// plain ids of a mutation's result into objects and global ids.
import { entityRef, globalId, globalIdOf, idOf, inputId, type PageArgs } from '@lectern/kernel';
import { requireAuthor, requireReader } from '../../access.ts';
import type { Context } from '../../context.ts';
import { storedErrors, type MutationResult } from '../../errors.ts';
import type { CourseRecord as Course, VersionRecord as CourseVersion } from './course.store.ts';
import type { CourseFilter, CourseOrder } from './course.queries.ts';
import type { CourseAuthorInput, CoursePrerequisiteInput, CourseRefInput, CreateCourseInput, UpdateCourseInput } from './course.service.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

type Input<T> = { input: T };

/**
 * The plain UUIDs inside a mutation input's global ids, decoded after the caller is known to
 * be an author (a learner learns nothing from BAD_USER_INPUT versus FORBIDDEN).
 */
export function decoded<T extends object>(ctx: Context, input: T, ids: { [K in keyof T]?: string }): T {
  requireAuthor(ctx.actor);
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const [field, type] of Object.entries(ids) as [string, string][]) {
    const value = out[field];
    if (value != null) out[field] = inputId(value, type, field);
  }
  return out as T;
}

/**
 * Every mutation returns its stored MutationResult (plain ids and typed errors); the payload
 * types load the objects from those ids, lazily, as the operation selects them.
 */
export const payloadResolvers = {
  course: (r: MutationResult, _: unknown, ctx: Context) => (r.courseId ? ctx.queries.course(r.courseId) : null),
  module: (r: MutationResult, _: unknown, ctx: Context) => (r.moduleId ? ctx.loaders.module.load(r.moduleId) : null),
  lesson: (r: MutationResult, _: unknown, ctx: Context) => (r.lessonId ? ctx.loaders.lesson.load(r.lessonId) : null),
  removedModuleId: (r: MutationResult) => (r.removedId ? globalId('Module', r.removedId) : null),
  removedLessonId: (r: MutationResult) => (r.removedId ? globalId('Lesson', r.removedId) : null),
  errors: (r: MutationResult) => storedErrors(r.errors),
};

export const courseResolvers = {
  Query: {
    course: (_: unknown, args: { id: string }, ctx: Context) => {
      const id = idOf(args.id, 'Course');
      return id ? ctx.queries.course(id) : null;
    },
    courseBySlug: (_: unknown, args: { slug: string }, ctx: Context) => ctx.queries.courseBySlug(args.slug),
    courses: (_: unknown, args: PageArgs & { orderBy?: CourseOrder | null; filter?: CourseFilter | null }, ctx: Context) => {
      requireReader(ctx.actor); // who may read, before anything about the arguments
      const filter = args.filter ? { ...args.filter } : null;
      if (filter?.authorId != null) filter.authorId = inputId(filter.authorId, 'User', 'filter.authorId');
      return ctx.queries.listCourses({ ...args, filter });
    },
    searchCourses: (_: unknown, args: PageArgs & { query: string }, ctx: Context) => ctx.queries.searchCourses(args),
  },
  Mutation: {
    createCourse: (_: unknown, { input }: Input<CreateCourseInput>, ctx: Context) => ctx.courses.createCourse(input),
    updateCourse: (_: unknown, { input }: Input<UpdateCourseInput>, ctx: Context) =>
      ctx.courses.updateCourse(decoded(ctx, input, { courseId: 'Course' })),
    publishCourse: (_: unknown, { input }: Input<CourseRefInput>, ctx: Context) => ctx.courses.publishCourse(decoded(ctx, input, { courseId: 'Course' })),
    unpublishCourse: (_: unknown, { input }: Input<CourseRefInput>, ctx: Context) => ctx.courses.unpublishCourse(decoded(ctx, input, { courseId: 'Course' })),
    addCourseAuthor: (_: unknown, { input }: Input<CourseAuthorInput>, ctx: Context) =>
      ctx.courses.addCourseAuthor(decoded(ctx, input, { courseId: 'Course', userId: 'User' })),
    removeCourseAuthor: (_: unknown, { input }: Input<CourseAuthorInput>, ctx: Context) =>
      ctx.courses.removeCourseAuthor(decoded(ctx, input, { courseId: 'Course', userId: 'User' })),
    addCoursePrerequisite: (_: unknown, { input }: Input<CoursePrerequisiteInput>, ctx: Context) =>
      ctx.courses.addCoursePrerequisite(decoded(ctx, input, { courseId: 'Course', prerequisiteCourseId: 'Course' })),
    removeCoursePrerequisite: (_: unknown, { input }: Input<CoursePrerequisiteInput>, ctx: Context) =>
      ctx.courses.removeCoursePrerequisite(decoded(ctx, input, { courseId: 'Course', prerequisiteCourseId: 'Course' })),
  },
  Course: {
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'Course');
      return id ? ctx.queries.course(id) : null;
    },
    id: globalIdOf('Course'),
    status: (course: Course) => course.status,
    title: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.visibleVersionHead(course))?.title ?? '',
    description: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.visibleVersion(course))?.description ?? '',
    modules: (course: Course, _: unknown, ctx: Context) => ctx.queries.modules(ctx.queries.visibleVersionId(course)),
    publishedVersion: (course: Course, _: unknown, ctx: Context) => ctx.queries.publishedVersion(course),
    draftVersion: (course: Course, _: unknown, ctx: Context) => ctx.queries.draftVersion(course),
    publishedAt: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.publishedVersion(course))?.publishedAt ?? null,
    prerequisites: (course: Course, _: unknown, ctx: Context) => ctx.queries.prerequisites(course),
    // References to identity's User: the gateway fetches them, in one batch per operation. A
    // removed member resolves to null there, which the SDL's nullable items keep to that entry.
    authors: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.authorIds(course)).map((id) => entityRef('User', id)),
  },
  CourseVersion: {
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'CourseVersion');
      return id ? ctx.queries.version(id) : null;
    },
    id: globalIdOf('CourseVersion'),
    course: (version: CourseVersion, _: unknown, ctx: Context) => ctx.queries.courseOf(version),
    modules: (version: CourseVersion, _: unknown, ctx: Context) => ctx.queries.modules(version.id),
  },
} satisfies Resolvers;
