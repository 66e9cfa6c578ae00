// Errors the resolvers throw with a kernel error code (NOT_FOUND, ...), and the codes of the
// expected outcomes the services return in the payloads' `errors` (the SDL's UserErrorCode).
import { notFound, userError, type UserError } from '@lectern/kernel';

export const IDENTITY_ERROR_CODES = [
  'SLUG_TAKEN',
  'ALREADY_MEMBER',
  'LAST_ADMIN',
  'INVITATION_INVALID',
  'SIGN_IN_REQUIRED',
  'WRONG_ACCOUNT',
  'WEAK_PASSWORD',
  'INVALID_CREDENTIALS',
  'THROTTLED',
  'SESSION_INVALID',
  'SESSION_REUSED',
  'WRONG_PASSWORD',
  'NOT_FOUND',
  'NAME_TAKEN',
  'INVALID_TIME_ZONE',
  'INVALID_LOCALE',
] as const;
export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number];
export type IdentityError = UserError<IdentityErrorCode>;

/** An expected outcome; `field` is the input field at fault (a path under `input`). */
export const identityError = (code: IdentityErrorCode, message: string, field?: string | null): IdentityError => userError(code, message, field);

/** A row that must exist (it was just written, or is referenced by one that does). */
export function must<T>(row: T | null, what: string): T {
  if (row === null) throw notFound(what);
  return row;
}
