// What other Lectern code may know of catalog: the events it emits through its outbox.
// Payloads carry ids and non-personal facts only.
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
