// Module and Lesson, the lesson query, and the content-editing mutations (thin: decode global
// ids, the ContentService decides; payload fields come from course.resolvers.ts payloadResolvers).
import { entityRef, globalId, globalIdOf, idOf } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import { decoded } from '../course/course.resolvers.ts';
import type { CourseModule, Lesson } from './content.entity.ts';
import type {
  AddLessonInput,
  AddModuleInput,
  LessonContentInput,
  MoveLessonInput,
  RemoveLessonInput,
  RemoveModuleInput,
  UpdateLessonInput,
  UpdateModuleInput,
} from './content.service.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

type Input<T> = { input: T };

/** The API names a lesson's video `videoId` (a VideoAsset id); the service and the table say videoAssetId. */
type LessonContentArgs<T extends LessonContentInput> = Omit<T, 'videoAssetId'> & { videoId?: string | null };

function lessonContent<T extends LessonContentInput>(ctx: Context, input: LessonContentArgs<T>, ids: Record<string, string>): T {
  const { videoId, ...rest } = decoded(ctx, input, { ...ids, videoId: 'VideoAsset', quizId: 'Quiz' } as never);
  return { ...rest, ...(videoId !== undefined ? { videoAssetId: videoId } : {}) } as unknown as T;
}

export const contentResolvers = {
  Query: {
    lesson: (_: unknown, args: { id: string }, ctx: Context) => {
      const id = idOf(args.id, 'Lesson');
      return id ? ctx.queries.lesson(id) : null;
    },
  },
  Mutation: {
    addModule: (_: unknown, { input }: Input<AddModuleInput>, ctx: Context) => ctx.content.addModule(decoded(ctx, input, { courseId: 'Course' })),
    updateModule: (_: unknown, { input }: Input<UpdateModuleInput>, ctx: Context) => ctx.content.updateModule(decoded(ctx, input, { moduleId: 'Module' })),
    removeModule: (_: unknown, { input }: Input<RemoveModuleInput>, ctx: Context) => ctx.content.removeModule(decoded(ctx, input, { moduleId: 'Module' })),
    addLesson: (_: unknown, { input }: Input<LessonContentArgs<AddLessonInput>>, ctx: Context) =>
      ctx.content.addLesson(lessonContent<AddLessonInput>(ctx, input, { moduleId: 'Module' })),
    updateLesson: (_: unknown, { input }: Input<LessonContentArgs<UpdateLessonInput>>, ctx: Context) =>
      ctx.content.updateLesson(lessonContent<UpdateLessonInput>(ctx, input, { lessonId: 'Lesson' })),
    removeLesson: (_: unknown, { input }: Input<RemoveLessonInput>, ctx: Context) => ctx.content.removeLesson(decoded(ctx, input, { lessonId: 'Lesson' })),
    moveLesson: (_: unknown, { input }: Input<MoveLessonInput>, ctx: Context) =>
      ctx.content.moveLesson(decoded(ctx, input, { lessonId: 'Lesson', moduleId: 'Module' })),
  },
  Module: {
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'Module');
      return id ? ctx.queries.module(id) : null;
    },
    id: globalIdOf('Module'),
    lineageId: (module: CourseModule) => globalId('ModuleLineage', module.lineageId),
    lessons: (module: CourseModule, _: unknown, ctx: Context) => ctx.queries.lessons(module.id),
    version: (module: CourseModule, _: unknown, ctx: Context) => ctx.queries.versionOf(module),
    course: (module: CourseModule, _: unknown, ctx: Context) => ctx.queries.courseOf(module),
  },
  Lesson: {
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'Lesson');
      return id ? ctx.queries.lesson(id) : null;
    },
    id: globalIdOf('Lesson'),
    lineageId: (lesson: Lesson) => globalId('LessonLineage', lesson.lineageId),
    // Other contexts' objects (media, assessment): references carrying only their id.
    video: (lesson: Lesson) => (lesson.videoAssetId ? entityRef('VideoAsset', lesson.videoAssetId) : null),
    quiz: (lesson: Lesson) => (lesson.quizId ? entityRef('Quiz', lesson.quizId) : null),
    module: (lesson: Lesson, _: unknown, ctx: Context) => ctx.queries.moduleOf(lesson),
    version: (lesson: Lesson, _: unknown, ctx: Context) => ctx.queries.versionOf(lesson),
    course: (lesson: Lesson, _: unknown, ctx: Context) => ctx.queries.courseOf(lesson),
  },
} satisfies Resolvers;
