// Expected business outcomes of learning mutations (DESIGN rule 6): returned in the payload's
// `errors` (the SDL's LearningError, implementing UserError), never thrown. Everything else is
// thrown with a kernel error code.
import { userError, type UserError } from '@lectern/kernel';

export const LEARNING_ERROR_CODES = ['NOT_ENROLLED', 'LESSON_NOT_IN_VERSION', 'NOT_FOUND'] as const;
export type LearningErrorCode = (typeof LEARNING_ERROR_CODES)[number];

export type LearningError = UserError<LearningErrorCode>;

/** No enrollment of the caller runs a course version containing the lesson. */
export const notEnrolled = (field: string): LearningError =>
  userError('NOT_ENROLLED', 'You hold no enrollment whose course version contains this lesson', field);

/** The lesson is of another version of an enrolled course than the one the caller's offering runs. */
export const lessonNotInVersion = (field: string): LearningError =>
  userError('LESSON_NOT_IN_VERSION', 'This lesson belongs to another version of the course than the one your offering runs', field);

/** The course does not exist in the caller's organization (the same answer whether it exists elsewhere or not at all). */
export const courseNotFound = (field: string): LearningError => userError('NOT_FOUND', 'No such course in your organization', field);
