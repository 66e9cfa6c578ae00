// Expected business outcomes of enrollment mutations (DESIGN rule 6): returned in the
// payload's `errors` (the SDL's EnrollmentError, a UserError), stored with the idempotent
// result, never thrown. Everything else is thrown with a kernel error code (NOT_FOUND,
// FORBIDDEN, BAD_USER_INPUT, CONFLICT, SERVICE_UNAVAILABLE).
import { userError, type UserError } from '@lectern/kernel';

export const ENROLLMENT_ERROR_CODES = [
  'COURSE_NOT_FOUND',
  'COURSE_NOT_PUBLISHED',
  'COURSE_VERSION_NOT_FOUND',
  'COURSE_VERSION_OF_ANOTHER_COURSE',
  'COURSE_VERSION_NOT_PUBLISHED',
  'SAME_COURSE_VERSION',
  'COHORT_FULL',
  'PREREQUISITES_NOT_MET',
  'ENROLLMENT_CLOSED',
  'SELF_ENROLLMENT_DISABLED',
  'ALREADY_ENROLLED',
  'NOT_A_MEMBER',
  'OFFERING_ENDED',
  'CAPACITY_BELOW_SEATS_TAKEN',
  'NOT_AN_INSTRUCTOR',
  'ENROLLMENT_NOT_ACTIVE',
  'SAME_COHORT',
] as const;
export type EnrollmentErrorCode = (typeof ENROLLMENT_ERROR_CODES)[number];

export type EnrollmentError = UserError<EnrollmentErrorCode>;

/** A typed outcome; `field` is the input field at fault (its path is ['input', field]). */
export const enrollmentError = (code: EnrollmentErrorCode, message: string, field: string | null = null): EnrollmentError => userError(code, message, field);

/**
 * What an enrollment mutation stores as its idempotent result: ids only (the payload loads
 * the objects), plus the typed errors. A replay returns the same ids and errors.
 */
export interface MutationResult {
  offeringId?: string | null;
  cohortId?: string | null;
  enrollmentId?: string | null;
  /** Waitlisted enrollments that got a seat through this change. */
  promotedIds?: string[];
  importId?: string | null;
  versionChangeId?: string | null;
  errors: EnrollmentError[];
}
