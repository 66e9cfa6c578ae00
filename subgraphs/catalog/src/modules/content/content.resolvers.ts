// Module and Lesson, the lesson query, and the content-editing mutations (thin: the
// ContentService decides; payload fields come from course.resolvers.ts payloadResolvers).
import type { Context } from '../../context.ts';
import type { CourseModule, Lesson } from './content.entity.ts';
import type {
  AddLessonInput,
  AddModuleInput,
  MoveLessonInput,
  RemoveLessonInput,
  RemoveModuleInput,
  UpdateLessonInput,
  UpdateModuleInput,
} from './content.service.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

type Input<T> = { input: T };

export const contentResolvers = {
  Query: {
    lesson: (_: unknown, args: { id: string }, ctx: Context) => ctx.queries.lesson(args.id),
  },
  Mutation: {
    addModule: (_: unknown, { input }: Input<AddModuleInput>, ctx: Context) => ctx.content.addModule(input),
    updateModule: (_: unknown, { input }: Input<UpdateModuleInput>, ctx: Context) => ctx.content.updateModule(input),
    removeModule: (_: unknown, { input }: Input<RemoveModuleInput>, ctx: Context) => ctx.content.removeModule(input),
    addLesson: (_: unknown, { input }: Input<AddLessonInput>, ctx: Context) => ctx.content.addLesson(input),
    updateLesson: (_: unknown, { input }: Input<UpdateLessonInput>, ctx: Context) => ctx.content.updateLesson(input),
    removeLesson: (_: unknown, { input }: Input<RemoveLessonInput>, ctx: Context) => ctx.content.removeLesson(input),
    moveLesson: (_: unknown, { input }: Input<MoveLessonInput>, ctx: Context) => ctx.content.moveLesson(input),
  },
  Module: {
    lessons: (module: CourseModule, _: unknown, ctx: Context) => ctx.queries.lessons(module.id),
    course: (module: CourseModule, _: unknown, ctx: Context) => ctx.queries.courseOf(module),
  },
  Lesson: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.lesson(ref.id),
    module: (lesson: Lesson, _: unknown, ctx: Context) => ctx.queries.moduleOf(lesson),
    course: (lesson: Lesson, _: unknown, ctx: Context) => ctx.queries.courseOf(lesson),
  },
} satisfies Resolvers;
