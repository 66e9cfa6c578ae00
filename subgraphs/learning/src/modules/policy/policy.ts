// The completion policy as data: per course, a rule per lesson kind, a course rule and an
// optional live attendance requirement (stored as one jsonb in completion_policies), and the
// defaults a course without one has.
// The policy is evaluated in one place only, the set-based progress statement
// (progress/progress.store.ts), whose header describes the states and transitions.
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
  /**
   * Besides the course rule, the learner attended at least `minSessionPercent` % of at least
   * one ended Session of their offering (live's AttendanceRecorded); null: no such requirement.
   */
  attendance: z.strictObject({ minSessionPercent: z.number().int().min(1).max(100) }).nullable(),
});
export type CompletionPolicy = z.infer<typeof policySchema>;

export const DEFAULT_POLICY: CompletionPolicy = {
  VIDEO: { rule: 'WATCHED_FRACTION', threshold: 0.8 },
  TEXT: { rule: 'OPENED' },
  QUIZ: { rule: 'PASSED' },
  EXTERNAL: { rule: 'OPENED' },
  course: { rule: 'ALL_REQUIRED' },
  attendance: null,
};

/**
 * The duration a lesson's watched fraction is shown against (progress reads): catalog's,
 * else the longest the player reported, else none. The same choice as the progress
 * statement's `eff`, which a WATCHED_FRACTION rule measures against.
 */
export const effectiveDuration = (f: { durationSeconds: number | null; reportedDurationSeconds: number | null }) =>
  f.durationSeconds && f.durationSeconds > 0 ? f.durationSeconds : f.reportedDurationSeconds && f.reportedDurationSeconds > 0 ? f.reportedDurationSeconds : null;

/** A stored policy (jsonb), completed with the defaults for anything missing. */
export function readPolicy(stored: unknown): CompletionPolicy {
  const parsed = policySchema.safeParse({ ...DEFAULT_POLICY, ...(stored && typeof stored === 'object' ? stored : {}) });
  return parsed.success ? parsed.data : DEFAULT_POLICY;
}
