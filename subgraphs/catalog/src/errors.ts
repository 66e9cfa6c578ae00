// Expected business outcomes of catalog mutations (DESIGN rule 6): returned in the payload's
// `errors`, stored with the idempotent result, never thrown. Everything else is thrown with
// a kernel error code (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, CONFLICT).
export const CATALOG_ERROR_CODES = [
  'SLUG_TAKEN',
  'COURSE_HAS_NO_LESSONS',
  'MODULE_HAS_NO_LESSONS',
  'ALREADY_PUBLISHED',
  'NOT_PUBLISHED',
  'PREREQUISITE_CYCLE',
] as const;
export type CatalogErrorCode = (typeof CATALOG_ERROR_CODES)[number];

export interface CatalogError {
  code: CatalogErrorCode;
  message: string;
  field: string | null;
}

export const catalogError = (code: CatalogErrorCode, message: string, field: string | null = null): CatalogError => ({ code, message, field });

/**
 * What a catalog mutation stores as its idempotent result: ids only (the payload loads the
 * objects), plus the typed errors. A replay returns the same ids and errors.
 */
export interface MutationResult {
  courseId: string | null;
  moduleId?: string | null;
  lessonId?: string | null;
  /** Set by remove* mutations: the id that is gone. */
  removedId?: string | null;
  errors: CatalogError[];
}
