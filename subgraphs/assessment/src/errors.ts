// Expected business outcomes of assessment mutations (DESIGN rule 6): returned in the
// payload's `errors` (the SDL's AssessmentError), never thrown. Everything else is thrown with a
// kernel error code (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, CONFLICT, SERVICE_UNAVAILABLE).
import { userError, type UserError } from '@lectern/kernel';

export const ASSESSMENT_ERROR_CODES = [
  'INVALID_BANK_DOCUMENT',
  'INVALID_QUESTION',
  'COURSE_NOT_FOUND',
  'QUESTION_NOT_FOUND',
  'QUIZ_NOT_PUBLISHED',
  'QUIZ_NOT_OPEN',
  'QUIZ_CLOSED',
  'ATTEMPT_LIMIT_REACHED',
  'NOT_ENROLLED',
  'QUIZ_HAS_NO_QUESTIONS',
  'DEADLINE_PASSED',
  'ATTEMPT_SUBMITTED',
  'INVALID_ANSWER',
  'NO_SUCH_POSITION',
  'ATTEMPT_NOT_SUBMITTED',
  'NOT_MANUALLY_GRADED',
  'REASON_REQUIRED',
  'REGRADE_INCOMPATIBLE',
] as const;
export type AssessmentErrorCode = (typeof ASSESSMENT_ERROR_CODES)[number];
export type AssessmentError = UserError<AssessmentErrorCode>;

/** `path` is the input path below `input` (e.g. 'answers.2.choiceIds'), split into the UserError path. */
export const assessmentError = (code: AssessmentErrorCode, message: string, field: string | null = null): AssessmentError => userError(code, message, field);

/**
 * What an assessment mutation stores as its idempotent result: ids only (the payload loads the
 * objects), plus the typed errors. A replay returns the same ids and errors.
 */
export interface MutationResult {
  bankId?: string | null;
  questionId?: string | null;
  quizId?: string | null;
  attemptId?: string | null;
  accommodationId?: string | null;
  /** setAccommodation: open attempts whose deadline moved. */
  movedAttemptIds?: string[];
  /** regradeQuestion. */
  applied?: boolean;
  changes?: { attemptId: string; oldScore: number | null; newScore: number | null; overridden: boolean }[];
  errors: AssessmentError[];
}
