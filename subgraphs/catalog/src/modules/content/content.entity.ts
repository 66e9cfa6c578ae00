// The content of one course version: ordered modules holding ordered lessons. A draft is a
// deep copy of the version it is based on; copies keep their original's lineageId, so a
// module or lesson can be followed from one version to the next.
import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';

export const LESSON_KINDS = ['VIDEO', 'TEXT', 'QUIZ', 'EXTERNAL'] as const;
export type LessonKind = (typeof LESSON_KINDS)[number];

// Named CourseModule in code (a "module" is also a JavaScript thing); Module in the SDL.
export const CourseModuleSchema = defineEntity({
  name: 'CourseModule',
  tableName: 'modules',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    courseId: p.uuid(),
    versionId: p.uuid(),
    lineageId: p.uuid(),
    position: p.integer(),
    title: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class CourseModule extends CourseModuleSchema.class {}
CourseModuleSchema.setClass(CourseModule);

export const LessonSchema = defineEntity({
  name: 'Lesson',
  tableName: 'lessons',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    courseId: p.uuid(),
    versionId: p.uuid(),
    moduleId: p.uuid(),
    lineageId: p.uuid(),
    position: p.integer(),
    title: p.string(),
    kind: p.string().$type<LessonKind>(),
    required: p.boolean().default(true),
    durationSeconds: p.integer().nullable(),
    /** TEXT lessons: the lesson itself (Markdown). */
    body: p.text().nullable(),
    /** VIDEO lessons: the media subgraph's video asset. */
    videoAssetId: p.uuid().nullable(),
    /** QUIZ lessons: the assessment subgraph's quiz. */
    quizId: p.uuid().nullable(),
    /** EXTERNAL lessons: an https URL. */
    externalUrl: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class Lesson extends LessonSchema.class {}
LessonSchema.setClass(Lesson);
