// Expected outcomes of notifications mutations (DESIGN rule 6): returned in the payload's
// `errors` and stored with the idempotent result. Everything else is a kernel error code.
export const NOTIFICATION_ERROR_CODES = ['NOTIFICATION_NOT_FOUND', 'FREQUENCY_NOT_SUPPORTED'] as const;
export type NotificationErrorCode = (typeof NOTIFICATION_ERROR_CODES)[number];

export interface NotificationError {
  code: NotificationErrorCode;
  message: string;
  field: string | null;
}

export const notificationError = (code: NotificationErrorCode, message: string, field: string | null = null): NotificationError => ({ code, message, field });
