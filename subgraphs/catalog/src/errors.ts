// Expected business outcomes of catalog mutations (DESIGN rule 6): returned in the payload's
// `errors` (the SDL's CatalogError, a UserError), stored with the idempotent result, never
// thrown. Everything else is thrown with a kernel error code (NOT_FOUND, FORBIDDEN,
// BAD_USER_INPUT, CONFLICT, SERVICE_UNAVAILABLE).
import { userError, type UserError } from '@lectern/kernel/errors';

/** The SDL's UserErrorCode values catalog returns (each described there). */
export const CATALOG_ERROR_CODES = [
  'SLUG_TAKEN',
  'COURSE_HAS_NO_LESSONS',
  'MODULE_HAS_NO_LESSONS',
  'ALREADY_PUBLISHED',
  'NOT_PUBLISHED',
  'PREREQUISITE_CYCLE',
  'AUTHOR_NOT_ELIGIBLE',
  'VIDEO_NOT_READY',
] as const;
export type CatalogErrorCode = (typeof CATALOG_ERROR_CODES)[number];

export type CatalogError = UserError<CatalogErrorCode>;

/** A typed error; `field` is the input field at fault (path ['input', field]). */
export const catalogError = (code: CatalogErrorCode, message: string, field: string | null = null): CatalogError => userError(code, message, field);

/**
 * What a catalog mutation stores as its idempotent result: plain ids only (the payload loads
 * the objects and returns global ids), plus the typed errors. A replay returns the same ids
 * and errors.
 */
export interface MutationResult {
  courseId: string | null;
  moduleId?: string | null;
  lessonId?: string | null;
  /** Set by remove* mutations: the id that is gone. */
  removedId?: string | null;
  errors: CatalogError[];
}

/** Errors of a stored result, whatever shape they were stored in (results stored before `path` carried `field`). */
export function storedErrors(errors: readonly (CatalogError | { code: CatalogErrorCode; message: string; field?: string | null })[]): CatalogError[] {
  return errors.map((e) => ('path' in e ? e : catalogError(e.code, e.message, e.field ?? null)));
}
