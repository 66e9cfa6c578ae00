// Course, CourseVersion, the course-level queries and mutations, and the payload fields all
// mutations share. Thin: parse arguments, call CatalogQueries / CourseService, and turn the
// ids of a mutation's result into objects.
import type { PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import type { MutationResult } from '../../errors.ts';
import type { CourseRecord as Course, VersionRecord as CourseVersion } from './course.store.ts';
import type { CourseFilter } from './course.queries.ts';
import type {
  CourseAuthorInput,
  CoursePrerequisiteInput,
  CourseRefInput,
  CreateCourseInput,
  UpdateCourseInput,
} from './course.service.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

type Input<T> = { input: T };

/**
 * Every mutation returns its stored MutationResult (ids and typed errors); the payload types
 * load the objects from those ids, lazily, as the operation selects them.
 */
export const payloadResolvers = {
  course: (r: MutationResult, _: unknown, ctx: Context) => (r.courseId ? ctx.queries.course(r.courseId) : null),
  module: (r: MutationResult, _: unknown, ctx: Context) => (r.moduleId ? ctx.loaders.module.load(r.moduleId) : null),
  lesson: (r: MutationResult, _: unknown, ctx: Context) => (r.lessonId ? ctx.loaders.lesson.load(r.lessonId) : null),
  removedModuleId: (r: MutationResult) => r.removedId ?? null,
  removedLessonId: (r: MutationResult) => r.removedId ?? null,
  errors: (r: MutationResult) => r.errors,
};

export const courseResolvers = {
  Query: {
    course: (_: unknown, args: { id: string }, ctx: Context) => ctx.queries.course(args.id),
    courseBySlug: (_: unknown, args: { slug: string }, ctx: Context) => ctx.queries.courseBySlug(args.slug),
    courses: (_: unknown, args: PageArgs & { filter?: CourseFilter | null }, ctx: Context) => ctx.queries.listCourses(args),
    searchCourses: (_: unknown, args: PageArgs & { query: string }, ctx: Context) => ctx.queries.searchCourses(args),
  },
  Mutation: {
    createCourse: (_: unknown, { input }: Input<CreateCourseInput>, ctx: Context) => ctx.courses.createCourse(input),
    updateCourse: (_: unknown, { input }: Input<UpdateCourseInput>, ctx: Context) => ctx.courses.updateCourse(input),
    publishCourse: (_: unknown, { input }: Input<CourseRefInput>, ctx: Context) => ctx.courses.publishCourse(input),
    unpublishCourse: (_: unknown, { input }: Input<CourseRefInput>, ctx: Context) => ctx.courses.unpublishCourse(input),
    addCourseAuthor: (_: unknown, { input }: Input<CourseAuthorInput>, ctx: Context) => ctx.courses.addCourseAuthor(input),
    removeCourseAuthor: (_: unknown, { input }: Input<CourseAuthorInput>, ctx: Context) => ctx.courses.removeCourseAuthor(input),
    addCoursePrerequisite: (_: unknown, { input }: Input<CoursePrerequisiteInput>, ctx: Context) => ctx.courses.addCoursePrerequisite(input),
    removeCoursePrerequisite: (_: unknown, { input }: Input<CoursePrerequisiteInput>, ctx: Context) => ctx.courses.removeCoursePrerequisite(input),
  },
  Course: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.course(ref.id),
    status: (course: Course) => course.status,
    title: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.visibleVersionHead(course))?.title ?? '',
    description: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.visibleVersion(course))?.description ?? '',
    modules: (course: Course, _: unknown, ctx: Context) => ctx.queries.modules(ctx.queries.visibleVersionId(course)),
    publishedVersion: (course: Course, _: unknown, ctx: Context) => ctx.queries.publishedVersion(course),
    draftVersion: (course: Course, _: unknown, ctx: Context) => ctx.queries.draftVersion(course),
    publishedAt: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.publishedVersion(course))?.publishedAt ?? null,
    prerequisites: (course: Course, _: unknown, ctx: Context) => ctx.queries.prerequisites(course),
    // References to identity's User: the gateway fetches them, in one batch per operation.
    authors: async (course: Course, _: unknown, ctx: Context) => (await ctx.queries.authorIds(course)).map((id) => ({ __typename: 'User' as const, id })),
  },
  CourseVersion: {
    modules: (version: CourseVersion, _: unknown, ctx: Context) => ctx.queries.modules(version.id),
  },
} satisfies Resolvers;
