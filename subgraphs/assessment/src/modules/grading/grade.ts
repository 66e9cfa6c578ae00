// The grading rules, one place for all of them: pure and deterministic, so a regrade after a
// key correction gives the same result as grading live, and the rules documented in
// docs/bank-format.md can be tested here line by line.
import type { Answer } from './answer.ts';
import { normaliseText, rubricMax, type QuestionDefinition, type QuestionOf } from './question.ts';

export { normaliseText } from './question.ts';

export interface ItemGrade {
  /** null while an essay waits for a grader. */
  score: number | null;
  max: number;
  /** score / max in [0, 1]; null while an essay waits for a grader. */
  fraction: number | null;
  manual: boolean;
}

/** Absorbs float noise in tolerances (0.1 + 0.2 is not 0.3). */
const EPSILON = 1e-9;

/** Four decimals: enough for any points value, and sums of stored scores stay exact-looking. */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function graded(points: number, fraction: number): ItemGrade {
  const f = Math.min(1, Math.max(0, fraction));
  return { score: round4(points * f), max: points, fraction: f, manual: false };
}

/**
 * Grades one answer. null = not answered → score 0 (an unanswered essay too: nothing to grade);
 * an answered essay waits for a grader (score null, manual).
 * An answer of another type than the question (a key changed type after the answer was stored)
 * scores 0 rather than throwing, so a regrade of a whole quiz never stops on one item.
 */
export function grade(def: QuestionDefinition, answer: Answer | null): ItemGrade {
  if (answer === null || answer.type !== def.type) return graded(def.points, 0);
  if (def.type === 'ESSAY') return { score: null, max: def.points, fraction: null, manual: true };
  return graded(def.points, fractionOf(def, answer));
}

function fractionOf(def: QuestionDefinition, answer: Answer): number {
  switch (def.type) {
    case 'SINGLE_CHOICE':
      return answer.type === 'SINGLE_CHOICE' && answer.choiceId === def.correct ? 1 : 0;
    case 'MULTIPLE_CHOICE':
      return answer.type === 'MULTIPLE_CHOICE' ? multipleChoice(def, answer.choiceIds) : 0;
    case 'TRUE_FALSE':
      return answer.type === 'TRUE_FALSE' && answer.value === def.correct ? 1 : 0;
    case 'SHORT_ANSWER':
      return answer.type === 'SHORT_ANSWER' && matchesAny(answer.text, def.accepted, def.caseSensitive) ? 1 : 0;
    case 'NUMERIC':
      return answer.type === 'NUMERIC' && numericCorrect(def, answer.value, answer.unit) ? 1 : 0;
    case 'MATCHING': {
      if (answer.type !== 'MATCHING') return 0;
      const given = new Map(answer.pairs.map((p) => [p.promptId, p.optionId]));
      const right = def.pairs.filter((p) => given.get(p.promptId) === p.optionId).length;
      return right / def.prompts.length;
    }
    case 'ORDERING': {
      if (answer.type !== 'ORDERING') return 0;
      const right = def.items.filter((item, i) => answer.order[i] === item.id).length;
      return right / def.items.length;
    }
    case 'FILL_IN_THE_BLANKS': {
      if (answer.type !== 'FILL_IN_THE_BLANKS') return 0;
      const right = def.blanks.filter((b, i) => matchesAny(answer.blanks[i] ?? '', b.accepted, b.caseSensitive)).length;
      return right / def.blanks.length;
    }
    case 'ESSAY':
      // Unreachable through grade(), which hands an answered essay to a grader.
      return 0;
  }
}

function multipleChoice(def: QuestionOf<'MULTIPLE_CHOICE'>, chosen: readonly string[]): number {
  const correct = new Set(def.correct);
  const incorrectCount = def.options.length - correct.size;
  const picked = new Set(chosen);
  let right = 0;
  let wrong = 0;
  for (const id of picked) {
    if (correct.has(id)) right++;
    else wrong++;
  }
  // The penalty makes "tick everything" worth nothing; the floor keeps guesses from costing
  // points elsewhere in the quiz.
  const penalty = incorrectCount === 0 ? 0 : wrong / incorrectCount;
  return Math.max(0, right / correct.size - penalty);
}

function matchesAny(given: string, accepted: readonly string[], caseSensitive: boolean): boolean {
  const g = normaliseText(given, caseSensitive);
  return accepted.some((a) => normaliseText(a, caseSensitive) === g);
}

function numericCorrect(def: QuestionOf<'NUMERIC'>, value: number, unit: string | null): boolean {
  if (Math.abs(value - def.value) > def.tolerance + EPSILON) return false;
  const given = unit?.trim() ?? '';
  // Units are optional for the learner; a unit on a unit-less question is ignored.
  return def.unit === null || given === '' || given === def.unit.trim();
}

export interface EssayGradeInput {
  score?: number | null;
  rubric?: { criterionId: string; levelId: string; comment?: string | null }[] | null;
}

/**
 * Essay graded by hand: from rubric selections or a plain score. Validates: every criterion
 * selected once with one of its levels (when the question has a rubric), or score in
 * [0, points] (no rubric).
 */
export function gradeEssay(
  def: QuestionOf<'ESSAY'>,
  input: EssayGradeInput,
): { ok: true; score: number } | { ok: false; message: string; field: string } {
  const fail = (field: string, reason: string) => ({ ok: false as const, field, message: `${field}: ${reason}` });
  const selections = input.rubric ?? null;
  const score = input.score ?? null;
  if (def.rubric === null) {
    if (selections !== null && selections.length > 0) return fail('rubric', 'this question has no rubric: give a score');
    if (score === null) return fail('score', 'required for an essay without a rubric');
    if (!Number.isFinite(score) || score < 0 || score > def.points) {
      return fail('score', `must be between 0 and ${def.points}`);
    }
    return { ok: true, score: round4(score) };
  }
  // One source of truth: with a rubric the score is the sum of the selected levels.
  if (score !== null) return fail('score', 'this question has a rubric: select a level per criterion instead');
  if (selections === null) return fail('rubric', 'select one level for each criterion');
  const chosen = new Map<string, number>();
  for (const s of selections) {
    const criterion = def.rubric.criteria.find((c) => c.id === s.criterionId);
    if (!criterion) return fail('rubric', `criterion '${s.criterionId}' is not a criterion of this rubric`);
    if (chosen.has(s.criterionId)) return fail('rubric', `criterion '${s.criterionId}' is selected more than once`);
    const level = criterion.levels.find((l) => l.id === s.levelId);
    if (!level) return fail('rubric', `level '${s.levelId}' is not a level of criterion '${s.criterionId}'`);
    chosen.set(s.criterionId, level.points);
  }
  const missing = def.rubric.criteria.filter((c) => !chosen.has(c.id)).map((c) => `'${c.id}'`);
  if (missing.length > 0) return fail('rubric', `no level selected for criterion ${missing.join(', ')}`);
  const total = [...chosen.values()].reduce((a, b) => a + b, 0);
  // The rubric adds up to the points (checked on the definition); the clamp guards float noise.
  return { ok: true, score: round4(Math.min(total, rubricMax(def.rubric), def.points)) };
}
