// Expected business outcomes of learning mutations (DESIGN rule 6): returned in the payload's
// `errors`, never thrown. Everything else is thrown with a kernel error code.
export const LEARNING_ERROR_CODES = ['NOT_ENROLLED'] as const;
export type LearningErrorCode = (typeof LEARNING_ERROR_CODES)[number];

export interface LearningError {
  code: LearningErrorCode;
  message: string;
  field: string | null;
  lessonId: string | null;
}

export const notEnrolled = (lessonId: string, field: string): LearningError => ({
  code: 'NOT_ENROLLED',
  message: 'You hold no enrollment whose course contains this lesson',
  field,
  lessonId,
});
