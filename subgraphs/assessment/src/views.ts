// Rows as resolvers see them: each table's row parsed at the edge (numeric columns come back
// from PostgreSQL as strings, jsonb definitions are checked against the grading module's schema).
import { optionalTimestamp, timestamp } from '@lectern/kernel/rows';
import type { Connection } from '@lectern/kernel';
import { answerSchema, type Answer } from './modules/grading/answer.ts';
import { questionDefinition, type QuestionDefinition, type QuestionType } from './modules/grading/question.ts';
import type { GradingMethod } from './modules/grading/grading-method.ts';

type Row = Record<string, unknown>;

const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | null => (v == null ? null : Number(v));
const optStr = (v: unknown): string | null => (v == null ? null : String(v));
const bool = (v: unknown): boolean => v === true || v === 't' || v === 'true';
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

export interface BankView {
  id: string;
  name: string;
  description: string | null;
  createdAt: Date;
}
export const bankRow = (r: Row): BankView => ({ id: String(r.id), name: String(r.name), description: optStr(r.description), createdAt: timestamp(r.created_at) });

export interface QuestionView {
  id: string;
  bankId: string;
  type: QuestionType;
  tags: string[];
  currentVersion: number;
  archivedAt: Date | null;
  createdAt: Date;
}
export const questionRow = (r: Row): QuestionView => ({
  id: String(r.id),
  bankId: String(r.bank_id),
  type: String(r.type) as QuestionType,
  tags: (r.tags as string[] | null) ?? [],
  currentVersion: num(r.current_version),
  archivedAt: optionalTimestamp(r.archived_at),
  createdAt: timestamp(r.created_at),
});

export interface VersionView {
  id: string;
  questionId: string;
  number: number;
  definition: QuestionDefinition;
  createdBy: string | null;
  createdAt: Date;
}
/** A stored definition (written by this subgraph after parseQuestion): parsed again at the edge. */
export const definitionOf = (v: unknown): QuestionDefinition => questionDefinition.parse(json(v));
export const versionRow = (r: Row): VersionView => ({
  id: String(r.id),
  questionId: String(r.question_id),
  number: num(r.number),
  definition: definitionOf(r.definition),
  createdBy: optStr(r.created_by),
  createdAt: timestamp(r.created_at),
});

export type ReviewMode = 'NONE' | 'SCORE_ONLY' | 'ANSWERS';
export type ReviewAvailability = 'IMMEDIATELY' | 'AFTER_CLOSE';

export interface QuizView {
  id: string;
  courseId: string;
  title: string;
  description: string | null;
  published: boolean;
  timeLimitSeconds: number | null;
  opensAt: Date | null;
  closesAt: Date | null;
  attemptsAllowed: number | null;
  gradingMethod: GradingMethod;
  passFraction: number;
  shuffleQuestions: boolean;
  shuffleOptions: boolean;
  reviewMode: ReviewMode;
  reviewAvailability: ReviewAvailability;
  createdAt: Date;
}
export const quizRow = (r: Row): QuizView => ({
  id: String(r.id),
  courseId: String(r.course_id),
  title: String(r.title),
  description: optStr(r.description),
  published: bool(r.published),
  timeLimitSeconds: optNum(r.time_limit_seconds),
  opensAt: optionalTimestamp(r.opens_at),
  closesAt: optionalTimestamp(r.closes_at),
  attemptsAllowed: optNum(r.attempts_allowed),
  gradingMethod: String(r.grading_method) as GradingMethod,
  passFraction: num(r.pass_fraction),
  shuffleQuestions: bool(r.shuffle_questions),
  shuffleOptions: bool(r.shuffle_options),
  reviewMode: String(r.review_mode) as ReviewMode,
  reviewAvailability: String(r.review_availability) as ReviewAvailability,
  createdAt: timestamp(r.created_at),
});

export interface QuizItemView {
  quizId: string;
  position: number;
  questionId: string | null;
  drawCount: number | null;
  drawBankId: string | null;
  drawTag: string | null;
}
export const quizItemRow = (r: Row): QuizItemView => ({
  quizId: String(r.quiz_id),
  position: num(r.position),
  questionId: optStr(r.question_id),
  drawCount: optNum(r.draw_count),
  drawBankId: optStr(r.draw_bank_id),
  drawTag: optStr(r.draw_tag),
});

export type AttemptStatus = 'IN_PROGRESS' | 'SUBMITTED' | 'GRADED';

export interface AttemptView {
  id: string;
  quizId: string;
  learnerId: string;
  enrollmentId: string;
  number: number;
  status: AttemptStatus;
  seed: string;
  startedAt: Date;
  deadline: Date | null;
  submittedAt: Date | null;
  autoSubmitted: boolean;
  gradedAt: Date | null;
  /** Points scored by grading (null until every answer is graded). */
  score: number | null;
  maxScore: number;
  overrideScore: number | null;
  shuffleOptions: boolean;
  /** Whether the caller sees this attempt in full (its learner's instructor, ORG_ADMIN). */
  overseen: boolean;
}
export const attemptRow = (r: Row, overseen = false): AttemptView => ({
  id: String(r.id),
  quizId: String(r.quiz_id),
  learnerId: String(r.learner_id),
  enrollmentId: String(r.enrollment_id),
  number: num(r.number),
  status: String(r.status) as AttemptStatus,
  seed: String(r.seed),
  startedAt: timestamp(r.started_at),
  deadline: optionalTimestamp(r.deadline),
  submittedAt: optionalTimestamp(r.submitted_at),
  autoSubmitted: bool(r.auto_submitted),
  gradedAt: optionalTimestamp(r.graded_at),
  score: optNum(r.score),
  maxScore: num(r.max_score),
  overrideScore: optNum(r.override_score),
  shuffleOptions: bool(r.shuffle_options),
  overseen,
});

/** The score that counts: an override, else the graded score. */
export const finalScore = (a: Pick<AttemptView, 'score' | 'overrideScore'>): number | null => a.overrideScore ?? a.score;

export interface RubricChoice {
  criterionId: string;
  levelId: string;
  comment: string | null;
}

export interface ItemView {
  attemptId: string;
  position: number;
  questionId: string;
  versionId: string;
  answer: Answer | null;
  answeredAt: Date | null;
  score: number | null;
  maxScore: number;
  needsGrading: boolean;
  rubric: RubricChoice[] | null;
  comment: string | null;
  gradedBy: string | null;
  gradedVersionId: string | null;
}
export const itemRow = (r: Row): ItemView => ({
  attemptId: String(r.attempt_id),
  position: num(r.position),
  questionId: String(r.question_id),
  versionId: String(r.version_id),
  answer: r.answer == null ? null : (answerSchema.parse(json(r.answer)) as Answer),
  answeredAt: optionalTimestamp(r.answered_at),
  score: optNum(r.score),
  maxScore: num(r.max_score),
  needsGrading: bool(r.needs_grading),
  rubric: r.rubric == null ? null : (json(r.rubric) as RubricChoice[]),
  comment: optStr(r.comment),
  gradedBy: optStr(r.graded_by),
  gradedVersionId: optStr(r.graded_version_id),
});

export type GradeChangeKind = 'AUTO_GRADED' | 'MANUAL_GRADED' | 'OVERRIDDEN' | 'REGRADED';
export interface GradeChangeView {
  attemptId: string;
  position: number | null;
  kind: GradeChangeKind;
  fromScore: number | null;
  toScore: number | null;
  changedBy: string | null;
  reason: string | null;
  changedAt: Date;
}
export const gradeChangeRow = (r: Row): GradeChangeView => ({
  attemptId: String(r.attempt_id),
  position: optNum(r.position),
  kind: String(r.kind) as GradeChangeKind,
  fromScore: optNum(r.from_score),
  toScore: optNum(r.to_score),
  changedBy: optStr(r.changed_by),
  reason: optStr(r.reason),
  changedAt: timestamp(r.changed_at),
});

export interface AccommodationView {
  id: string;
  learnerId: string;
  courseId: string | null;
  quizId: string | null;
  timeMultiplier: number;
  extraAttempts: number;
  extensionSeconds: number;
  updatedAt: Date;
  updatedBy: string | null;
}
export const accommodationRow = (r: Row): AccommodationView => ({
  id: String(r.id),
  learnerId: String(r.learner_id),
  courseId: optStr(r.course_id),
  quizId: optStr(r.quiz_id),
  timeMultiplier: num(r.time_multiplier),
  extraAttempts: num(r.extra_attempts),
  extensionSeconds: num(r.extension_seconds),
  updatedAt: timestamp(r.updated_at),
  updatedBy: optStr(r.updated_by),
});

export type BankConnection = Connection<BankView>;
export type QuestionConnection = Connection<QuestionView>;
export type AttemptConnection = Connection<AttemptView>;

/** A reference to another context's entity (User, Course): its id. */
export interface EntityRef {
  id: string;
}

/** Quiz.questions' items: a fixed question at its position. */
export interface QuizQuestionRef {
  position: number;
  questionId: string;
}
/** Quiz.draws' items. */
export interface QuizDrawRef {
  position: number;
  count: number;
  bankId: string | null;
  tag: string | null;
}
/** QuizStatistics.items' items. */
export interface QuizItemStatisticsRef {
  versionId: string;
  statistics: import('./modules/grading/statistics.ts').ItemStatistics;
}

export { must } from '@lectern/kernel';
