// catalog's published contract: the events it emits through its outbox and the internal
// course-structure endpoint. Payloads carry ids and non-personal facts only.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

/** A course version became the one learners see (first publication or a new version). */
export const CoursePublished = defineEvent({
  type: 'catalog.CoursePublished',
  version: 1,
  aggregate: 'course',
  payload: z.strictObject({
    courseId: z.string().uuid(),
    versionId: z.string().uuid(),
    /** The version it replaced; null on first publication. */
    previousVersionId: z.string().uuid().nullable(),
    /** Who published it (an author), or null for an API key. */
    publishedBy: z.string().uuid().nullable(),
  }),
});

/** A course was taken off the catalog. */
export const CourseUnpublished = defineEvent({
  type: 'catalog.CourseUnpublished',
  version: 1,
  aggregate: 'course',
  payload: z.strictObject({ courseId: z.string().uuid(), versionId: z.string().uuid() }),
});

export const CATALOG_EVENTS = [CoursePublished, CourseUnpublished] as const;

// ---- Internal endpoint for other contexts (signed `service` actor only) ----

/**
 * Course structure for the contexts that run courses: enrollment (which version is published
 * and which courses must be completed first, when an offering is scheduled), learning
 * (the lessons a completion policy counts), media (the videos of a version) and certification
 * (what a completed version is called, and its quizzes). Non-personal facts only.
 * Courses are answered whatever their status; versions only once published (never a DRAFT),
 * and for good: a SUPERSEDED or WITHDRAWN version (an offering may still run it) answers like
 * the PUBLISHED one, its lessons with their lineageId (the same for a lesson's copies in every
 * version: how progress carries over to a newer version). Unknown ids, and ids of another
 * organization, are left out of the answer. Ids here are plain UUIDs, not the API's global ids
 * (`globalId('CourseVersion' | 'Lesson' | 'Module', uuid)` in @lectern/kernel/ids).
 */
export const COURSE_STRUCTURE_PATH = '/internal/courses/structure';
export const courseStructureRequest = z.strictObject({
  tenantId: z.string().uuid(),
  courseIds: z.array(z.string().uuid()).max(100).default([]),
  versionIds: z.array(z.string().uuid()).max(100).default([]),
});
export type CourseStructureRequest = z.input<typeof courseStructureRequest>;
export const LESSON_KINDS = ['VIDEO', 'TEXT', 'QUIZ', 'EXTERNAL'] as const;
export type LessonKind = (typeof LESSON_KINDS)[number];
export const courseStructureResponse = z.object({
  courses: z.array(
    z.object({
      courseId: z.string().uuid(),
      /** The title learners know it by: its published version's, or its latest version's when it is not published. */
      title: z.string(),
      status: z.enum(['DRAFT', 'PUBLISHED', 'UNPUBLISHED']),
      publishedVersionId: z.string().uuid().nullable(),
      prerequisiteCourseIds: z.array(z.string().uuid()),
    }),
  ),
  versions: z.array(
    z.object({
      versionId: z.string().uuid(),
      courseId: z.string().uuid(),
      number: z.number().int(),
      status: z.enum(['PUBLISHED', 'SUPERSEDED', 'WITHDRAWN']),
      /** The version's own title and description (what a certificate for completing it names). */
      title: z.string(),
      description: z.string(),
      /** In course order (module position, then lesson position). */
      lessons: z.array(
        z.object({
          lessonId: z.string().uuid(),
          lineageId: z.string().uuid(),
          moduleId: z.string().uuid(),
          kind: z.enum(LESSON_KINDS),
          required: z.boolean(),
          /** Seconds; a VIDEO lesson's is its video's (rounded up), set when the version was published. */
          durationSeconds: z.number().int().nullable(),
          quizId: z.string().uuid().nullable(),
          /**
           * VIDEO lessons: media's video (a plain UUID); null for other kinds. media reads it to
           * know which videos a version shows (a learner may play a video of a version they can see).
           */
          videoAssetId: z.string().uuid().nullable(),
        }),
      ),
    }),
  ),
});
export type CourseStructure = z.infer<typeof courseStructureResponse>;
