// Expected outcomes of notifications mutations (DESIGN rule 6): returned in the payload's
// `errors` (the SDL's NotificationError implements UserError; codes are its UserErrorCode) and
// stored with the idempotent result. Everything else is a kernel error code.
import { userError, type UserError } from '@lectern/kernel';

export const NOTIFICATION_ERROR_CODES = ['NOTIFICATION_NOT_FOUND', 'FREQUENCY_NOT_SUPPORTED', 'DEAD_LETTER_NOT_FOUND', 'DEAD_LETTER_ALREADY_REPLAYED'] as const;
export type NotificationErrorCode = (typeof NOTIFICATION_ERROR_CODES)[number];

export type NotificationError = UserError<NotificationErrorCode>;

/** A NotificationError; `field` is the input field at fault (path ["input", ...field]). */
export const notificationError = (code: NotificationErrorCode, message: string, field?: string | null): NotificationError => userError(code, message, field);
