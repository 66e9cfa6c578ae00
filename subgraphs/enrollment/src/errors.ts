// Expected business outcomes of enrollment mutations (DESIGN rule 6): returned in the
// payload's `errors`, stored with the idempotent result, never thrown. Everything else is
// thrown with a kernel error code (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, CONFLICT).
export const ENROLLMENT_ERROR_CODES = [
  'COURSE_NOT_PUBLISHED',
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

export interface EnrollmentError {
  code: EnrollmentErrorCode;
  message: string;
  field: string | null;
}

export const enrollmentError = (code: EnrollmentErrorCode, message: string, field: string | null = null): EnrollmentError => ({ code, message, field });

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
  errors: EnrollmentError[];
}
