// Expected business outcomes of live mutations (DESIGN rule 6): returned in the payload's
// `errors` (the SDL's UserError implementations), never thrown. Everything else is thrown with
// a kernel error code (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, CONFLICT, SERVICE_UNAVAILABLE).
//
// PARTICIPANT_MUTED and RATE_LIMITED are passing states, not outcomes of the request: they are
// answered but never stored under the idempotency key (mutation.ts), so a retry with the same
// key once the mute or the wait is over does what was asked.
import { userError, type UserError } from '@lectern/kernel';

export const LIVE_ERROR_CODES = [
  'OFFERING_NOT_FOUND',
  'COHORT_NOT_IN_OFFERING',
  'SESSION_NOT_SCHEDULED',
  'SESSION_NOT_LIVE',
  'SESSION_ENDED',
  'PARTICIPANT_MUTED',
  'RATE_LIMITED',
  'MESSAGE_DELETED',
  'NOT_AUTHOR',
  'NOT_A_PARTICIPANT',
] as const;
export type LiveErrorCode = (typeof LIVE_ERROR_CODES)[number];

/** A typed outcome; the muted and rate-limited ones carry their detail. */
export type LiveError = UserError<LiveErrorCode> & { until?: string; retryAfterSeconds?: number };

export const liveError = (code: LiveErrorCode, message: string, field: string | null = null): LiveError => userError(code, message, field);

export const mutedError = (until: Date): LiveError => ({
  ...userError('PARTICIPANT_MUTED', `You are muted in this session until ${until.toISOString()}`),
  until: until.toISOString(),
});

export const rateLimitedError = (retryAfterSeconds: number): LiveError => ({
  ...userError('RATE_LIMITED', `Too many messages; retry in ${retryAfterSeconds} s`),
  retryAfterSeconds,
});

/** The GraphQL type of a LiveError (UserError.__resolveType). */
export const errorTypeOf = (e: LiveError) => (e.code === 'PARTICIPANT_MUTED' ? 'ParticipantMutedError' : e.code === 'RATE_LIMITED' ? 'ChatRateLimitedError' : 'LiveError');

/**
 * What a live mutation stores as its idempotent result: ids only (the payload loads the
 * objects), plus the typed errors. A replay returns the same ids and errors.
 */
export interface MutationResult {
  sessionId?: string | null;
  messageId?: string | null;
  /** The person a mute, unmute, raise or lower was about. */
  userId?: string | null;
  /** A mute's end (muteParticipant), null when unmuted. */
  until?: string | null;
  errors: LiveError[];
}
