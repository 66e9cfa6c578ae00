// The completion policy: rules as data, per course, and the state machine they drive.
//
// Lesson:  NOT_STARTED → IN_PROGRESS (any activity) → COMPLETED (its kind's rule holds).
// Course:  NOT_STARTED → IN_PROGRESS (any lesson started) → COMPLETED (the course rule holds).
// COMPLETED is terminal: no transition leaves it, whatever facts arrive later. Facts are
// monotone (coverage only grows, opened/passed only become true, durations are maxima), so
// the state reached does not depend on the order facts arrive in.
//
// The same rules run in SQL (progress.sql.ts compiles them, set-based, for flushes, syncs
// and QuizPassed); this module is their specification and what the unit tests pin down.
import { z } from 'zod';

export const LESSON_KINDS = ['VIDEO', 'TEXT', 'QUIZ', 'EXTERNAL'] as const;
export type LessonKind = (typeof LESSON_KINDS)[number];
export const PROGRESS_STATUSES = ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED'] as const;
export type ProgressStatus = (typeof PROGRESS_STATUSES)[number];

export const LESSON_RULES = ['WATCHED_FRACTION', 'OPENED', 'PASSED'] as const;
export type LessonRuleName = (typeof LESSON_RULES)[number];
export const COURSE_RULES = ['ALL_REQUIRED', 'ALL_LESSONS'] as const;
export type CourseRuleName = (typeof COURSE_RULES)[number];

export const lessonRuleSchema = z.discriminatedUnion('rule', [
  z.strictObject({ rule: z.literal('WATCHED_FRACTION'), threshold: z.number().gt(0).max(1) }),
  z.strictObject({ rule: z.literal('OPENED') }),
  z.strictObject({ rule: z.literal('PASSED') }),
]);
export type LessonRule = z.infer<typeof lessonRuleSchema>;

export const policySchema = z.strictObject({
  VIDEO: lessonRuleSchema,
  TEXT: lessonRuleSchema,
  QUIZ: lessonRuleSchema,
  EXTERNAL: lessonRuleSchema,
  course: z.strictObject({ rule: z.enum(COURSE_RULES) }),
});
export type CompletionPolicy = z.infer<typeof policySchema>;

export const DEFAULT_POLICY: CompletionPolicy = {
  VIDEO: { rule: 'WATCHED_FRACTION', threshold: 0.8 },
  TEXT: { rule: 'OPENED' },
  QUIZ: { rule: 'PASSED' },
  EXTERNAL: { rule: 'OPENED' },
  course: { rule: 'ALL_REQUIRED' },
};

/** What is known about one learner's lesson (all monotone). */
export interface LessonFacts {
  kind: LessonKind;
  /** Seconds of the lesson covered at least once (union of watched ranges). */
  coveredSeconds: number;
  /** Catalog's duration; null when catalog has none. */
  durationSeconds: number | null;
  /** The longest duration a player reported (used when catalog has none). */
  reportedDurationSeconds: number | null;
  opened: boolean;
  quizPassed: boolean;
  position: number;
}

/**
 * The duration a WATCHED_FRACTION rule measures against: catalog's, else the player's
 * reported one. With neither, the rule degrades to OPENED (any second watched completes):
 * a video nobody can measure must not block the course for ever.
 */
export const effectiveDuration = (f: Pick<LessonFacts, 'durationSeconds' | 'reportedDurationSeconds'>) =>
  f.durationSeconds && f.durationSeconds > 0 ? f.durationSeconds : f.reportedDurationSeconds && f.reportedDurationSeconds > 0 ? f.reportedDurationSeconds : null;

const active = (f: LessonFacts) => f.opened || f.coveredSeconds > 0 || f.position > 0 || f.quizPassed;

export function ruleHolds(rule: LessonRule, f: LessonFacts): boolean {
  switch (rule.rule) {
    case 'OPENED':
      return active(f);
    case 'PASSED':
      return f.quizPassed;
    case 'WATCHED_FRACTION': {
      const d = effectiveDuration(f);
      if (d === null) return f.coveredSeconds > 0;
      return f.coveredSeconds >= Math.ceil(rule.threshold * d);
    }
  }
}

/** The lesson's next state: pure, total, never leaving COMPLETED. */
export function nextLessonStatus(current: ProgressStatus, policy: CompletionPolicy, f: LessonFacts): ProgressStatus {
  if (current === 'COMPLETED') return 'COMPLETED';
  if (ruleHolds(policy[f.kind], f)) return 'COMPLETED';
  if (current === 'IN_PROGRESS' || active(f)) return 'IN_PROGRESS';
  return 'NOT_STARTED';
}

export interface CourseLesson {
  required: boolean;
  status: ProgressStatus;
}

/** The course's next state from its lessons' states: pure, never leaving COMPLETED. */
export function nextCourseStatus(current: ProgressStatus, policy: CompletionPolicy, lessons: CourseLesson[]): ProgressStatus {
  if (current === 'COMPLETED') return 'COMPLETED';
  const counted = policy.course.rule === 'ALL_LESSONS' ? lessons : lessons.filter((l) => l.required);
  if (counted.length > 0 && counted.every((l) => l.status === 'COMPLETED')) return 'COMPLETED';
  if (current === 'IN_PROGRESS' || lessons.some((l) => l.status !== 'NOT_STARTED')) return 'IN_PROGRESS';
  return 'NOT_STARTED';
}

/** A stored policy (jsonb), completed with the defaults for anything missing. */
export function readPolicy(stored: unknown): CompletionPolicy {
  const parsed = policySchema.safeParse({ ...DEFAULT_POLICY, ...(stored && typeof stored === 'object' ? stored : {}) });
  return parsed.success ? parsed.data : DEFAULT_POLICY;
}
