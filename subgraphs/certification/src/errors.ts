// Expected business outcomes of certification mutations (DESIGN rule 6): returned in the
// payload's `errors` (the SDL's CertificationError), never thrown. Everything else is thrown
// with a kernel error code (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, SERVICE_UNAVAILABLE).
import { userError, type UserError } from '@lectern/kernel';

export const CERTIFICATION_ERROR_CODES = ['ALREADY_REVOKED', 'NOT_ISSUED', 'NOT_FAILED', 'INVALID_LOGO'] as const;
export type CertificationErrorCode = (typeof CERTIFICATION_ERROR_CODES)[number];
export type CertificationError = UserError<CertificationErrorCode>;

export const certificationError = (code: CertificationErrorCode, message: string, field: string | null = null): CertificationError => userError(code, message, field);

/** What a certification mutation stores as its idempotent result: ids only (the payload loads the objects), plus the typed errors. */
export interface MutationResult {
  certificateId?: string | null;
  courseId?: string | null;
  errors: CertificationError[];
}
