// What other Lectern code may know of catalog: the events it will emit (delivered through
// the outbox in a later issue). Payloads carry ids only, never content or personal data.

export const CATALOG_EVENTS = {
  CoursePublished: 'catalog.CoursePublished',
  CourseUnpublished: 'catalog.CourseUnpublished',
} as const;
export type CatalogEventName = (typeof CATALOG_EVENTS)[keyof typeof CATALOG_EVENTS];

/** A course version became the one learners see. */
export interface CoursePublished {
  tenantId: string;
  courseId: string;
  versionId: string;
  /** The version it replaced, if any. */
  previousVersionId: string | null;
  occurredAt: string;
}

/** A course was taken off the catalog. */
export interface CourseUnpublished {
  tenantId: string;
  courseId: string;
  versionId: string;
  occurredAt: string;
}
