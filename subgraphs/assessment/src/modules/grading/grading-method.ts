// How a learner's several graded attempts make one quiz grade (the one the gradebook and the
// completion rule read).
export const GRADING_METHODS = ['HIGHEST', 'LAST', 'AVERAGE', 'FIRST'] as const;
export type GradingMethod = (typeof GRADING_METHODS)[number];

/**
 * The quiz grade (fraction 0..1) from a learner's graded attempts ({number (1-based order),
 * fraction}); null if none. FIRST and LAST go by attempt number, not by array order.
 */
export function quizGrade(method: GradingMethod, attempts: { number: number; fraction: number }[]): number | null {
  if (attempts.length === 0) return null;
  switch (method) {
    case 'HIGHEST':
      return Math.max(...attempts.map((a) => a.fraction));
    case 'AVERAGE':
      return attempts.reduce((sum, a) => sum + a.fraction, 0) / attempts.length;
    case 'FIRST':
      return attempts.reduce((best, a) => (a.number < best.number ? a : best)).fraction;
    case 'LAST':
      return attempts.reduce((best, a) => (a.number > best.number ? a : best)).fraction;
  }
}
