// Expected business outcomes of media mutations (DESIGN rule 6): returned in the payload's
// `errors` (the SDL's MediaError), never thrown. Everything else is thrown with a kernel error
// code (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, CONFLICT, SERVICE_UNAVAILABLE).
import { userError, type UserError } from '@lectern/kernel';

export const MEDIA_ERROR_CODES = ['UPLOAD_TOO_LARGE', 'INVALID_CAPTIONS', 'INVALID_LANGUAGE', 'VIDEO_IN_USE', 'CAPTIONS_NOT_FOUND'] as const;
export type MediaErrorCode = (typeof MEDIA_ERROR_CODES)[number];
export type MediaError = UserError<MediaErrorCode>;

export const mediaError = (code: MediaErrorCode, message: string, field: string | null = null): MediaError => userError(code, message, field);

/** What a media mutation stores as its idempotent result: ids only (the payload loads the objects), plus the typed errors. */
export interface MutationResult {
  videoId?: string | null;
  deletedId?: string | null;
  errors: MediaError[];
}
