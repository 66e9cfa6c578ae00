// The authored question, answer key included: the one schema that the bank, the import file and
// grading share. Shape rules live in zod; rules across fields (a key naming an existing option,
// gaps matching blanks, a rubric adding up to the points) live in per-type refinements, so every
// reader of a definition (API, import file, stored jsonb) refuses the same things with the same
// paths. Refinements are invisible to JSON Schema, which keeps the published schema readable.
import { z } from 'zod';

export const QUESTION_TYPES = [
  'SINGLE_CHOICE',
  'MULTIPLE_CHOICE',
  'TRUE_FALSE',
  'SHORT_ANSWER',
  'NUMERIC',
  'MATCHING',
  'ORDERING',
  'FILL_IN_THE_BLANKS',
  'ESSAY',
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const MAX_ACCEPTED = 50;
const MAX_ACCEPTED_LENGTH = 1000;

/** Unicode NFC, trimmed, whitespace runs collapsed, lower-cased unless case matters. */
export function normaliseText(s: string, caseSensitive: boolean): string {
  const collapsed = s.normalize('NFC').trim().replace(/\s+/gu, ' ');
  // toLowerCase (not toLocaleLowerCase): the server's locale must not change a grade.
  return caseSensitive ? collapsed : collapsed.toLowerCase();
}

/** The gap numbers of a fill-in-the-blanks text, in the order they appear. */
export function gapNumbers(text: string): number[] {
  return [...text.matchAll(/\{\{([1-9][0-9]*)\}\}/gu)].map((m) => Number(m[1]));
}

const id = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,40}$/u, 'must be 1 to 40 letters, digits, "_" or "-"')
  .describe('Identifier, unique within its list: 1 to 40 of A-Z a-z 0-9 _ -.');
const choice = z
  .strictObject({ id, text: z.string().trim().min(1).max(2000).describe('Text shown to the learner.') })
  .describe('An option, item or prompt shown to the learner.');
const acceptedList = z
  .array(
    z
      .string()
      .max(MAX_ACCEPTED_LENGTH)
      .refine((s) => normaliseText(s, true) !== '', 'must not be empty once trimmed'),
  )
  .min(1)
  .max(MAX_ACCEPTED);

const common = {
  prompt: z.string().trim().min(1).max(10000).describe('The question as shown to the learner.'),
  points: z.number().gt(0).max(1000).default(1).describe('Maximum score of the question (> 0, ≤ 1000).'),
  explanation: z
    .string()
    .max(10000)
    .nullish()
    .describe('Shown to the learner in review, when the quiz settings allow; never before submission.'),
};

type Ctx = z.core.$RefinementCtx;
type Path = (string | number)[];

function issue(ctx: Ctx, path: Path, message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

/** Flags the second and later occurrences of an id in a list. */
function uniqueIds(ctx: Ctx, ids: readonly string[], path: (i: number) => Path, what: string): void {
  const seen = new Set<string>();
  ids.forEach((value, i) => {
    if (seen.has(value)) issue(ctx, path(i), `duplicate ${what} '${value}'`);
    seen.add(value);
  });
}

const singleChoice = z
  .strictObject({
    type: z.literal('SINGLE_CHOICE'),
    ...common,
    options: z.array(choice).min(2).max(26).describe('The options, in authored order.'),
    correct: id.describe('Id of the one correct option.'),
  })
  .superRefine((q, ctx) => {
    uniqueIds(ctx, q.options.map((o) => o.id), (i) => ['options', i, 'id'], 'option id');
    if (!q.options.some((o) => o.id === q.correct)) issue(ctx, ['correct'], `'${q.correct}' is not an option id`);
  })
  .describe('One option is correct; the learner picks one.');

const multipleChoice = z
  .strictObject({
    type: z.literal('MULTIPLE_CHOICE'),
    ...common,
    options: z.array(choice).min(2).max(26).describe('The options, in authored order.'),
    correct: z.array(id).min(1).describe('Ids of the correct options (at least one).'),
  })
  .superRefine((q, ctx) => {
    uniqueIds(ctx, q.options.map((o) => o.id), (i) => ['options', i, 'id'], 'option id');
    uniqueIds(ctx, q.correct, (i) => ['correct', i], 'correct option');
    const ids = new Set(q.options.map((o) => o.id));
    q.correct.forEach((c, i) => {
      if (!ids.has(c)) issue(ctx, ['correct', i], `'${c}' is not an option id`);
    });
  })
  .describe('Several options may be correct; the learner picks any number. Partial credit with a penalty for wrong picks.');

const trueFalse = z
  .strictObject({
    type: z.literal('TRUE_FALSE'),
    ...common,
    correct: z.boolean().describe('Whether the statement in the prompt is true.'),
  })
  .describe('A statement the learner marks true or false.');

const shortAnswer = z
  .strictObject({
    type: z.literal('SHORT_ANSWER'),
    ...common,
    accepted: acceptedList.describe('Accepted answers (1 to 50); compared after normalisation.'),
    caseSensitive: z.boolean().default(false).describe('Whether letter case must match (default false).'),
  })
  .describe('The learner types a short text, compared with the accepted answers.');

const numeric = z
  .strictObject({
    type: z.literal('NUMERIC'),
    ...common,
    value: z.number().describe('The correct value (finite).'),
    tolerance: z.number().min(0).default(0).describe('Absolute tolerance: |answer − value| ≤ tolerance (default 0).'),
    unit: z
      .string()
      .trim()
      .min(1)
      .max(20)
      .nullable()
      .default(null)
      .describe('Unit shown next to the input (case-sensitive); a learner may omit it (default null).'),
  })
  .describe('The learner types a number.');

const matching = z
  .strictObject({
    type: z.literal('MATCHING'),
    ...common,
    prompts: z.array(choice).min(2).max(26).describe('The left-hand items, each matched to one option.'),
    options: z.array(choice).min(2).max(26).describe('The right-hand options; those beyond the pairs are distractors.'),
    pairs: z
      .array(z.strictObject({ promptId: id, optionId: id }))
      .describe('The key: exactly one pair per prompt, each option used at most once.'),
  })
  .superRefine((q, ctx) => {
    uniqueIds(ctx, q.prompts.map((p) => p.id), (i) => ['prompts', i, 'id'], 'prompt id');
    uniqueIds(ctx, q.options.map((o) => o.id), (i) => ['options', i, 'id'], 'option id');
    if (q.options.length < q.prompts.length) {
      issue(ctx, ['options'], `needs at least as many options as prompts (${q.prompts.length})`);
    }
    const promptIds = new Set(q.prompts.map((p) => p.id));
    const optionIds = new Set(q.options.map((o) => o.id));
    const pairedPrompts = new Set<string>();
    const pairedOptions = new Set<string>();
    q.pairs.forEach((p, i) => {
      if (!promptIds.has(p.promptId)) issue(ctx, ['pairs', i, 'promptId'], `'${p.promptId}' is not a prompt id`);
      else if (pairedPrompts.has(p.promptId)) issue(ctx, ['pairs', i, 'promptId'], `prompt '${p.promptId}' is paired twice`);
      if (!optionIds.has(p.optionId)) issue(ctx, ['pairs', i, 'optionId'], `'${p.optionId}' is not an option id`);
      else if (pairedOptions.has(p.optionId)) issue(ctx, ['pairs', i, 'optionId'], `option '${p.optionId}' is paired twice`);
      pairedPrompts.add(p.promptId);
      pairedOptions.add(p.optionId);
    });
    for (const p of q.prompts) {
      if (!pairedPrompts.has(p.id)) issue(ctx, ['pairs'], `prompt '${p.id}' has no pair`);
    }
  })
  .describe('The learner matches each prompt with an option.');

const ordering = z
  .strictObject({
    type: z.literal('ORDERING'),
    ...common,
    items: z.array(choice).min(2).max(26).describe('The items in the CORRECT order; learners see them shuffled.'),
  })
  .superRefine((q, ctx) => {
    uniqueIds(ctx, q.items.map((o) => o.id), (i) => ['items', i, 'id'], 'item id');
  })
  .describe('The learner puts the items in order.');

const fillInTheBlanks = z
  .strictObject({
    type: z.literal('FILL_IN_THE_BLANKS'),
    ...common,
    text: z
      .string()
      .min(1)
      .max(20000)
      .describe('The text with gaps {{1}}, {{2}}, … (each once, numbered from 1 without holes).'),
    blanks: z
      .array(
        z.strictObject({
          accepted: acceptedList.describe('Accepted answers for this gap (1 to 50).'),
          caseSensitive: z.boolean().default(false).describe('Whether letter case must match (default false).'),
        }),
      )
      .min(1)
      .describe('One entry per gap: blanks[0] is gap {{1}}.'),
  })
  .superRefine((q, ctx) => {
    const gaps = gapNumbers(q.text);
    if (gaps.length === 0) {
      issue(ctx, ['text'], 'has no gap: mark each gap as {{1}}, {{2}}, …');
      return;
    }
    const seen = new Set<number>();
    for (const g of gaps) {
      if (seen.has(g)) issue(ctx, ['text'], `gap {{${g}}} appears more than once`);
      seen.add(g);
    }
    for (let g = 1; g <= Math.max(...seen); g++) {
      if (!seen.has(g)) issue(ctx, ['text'], `gap {{${g}}} is missing: gaps are numbered 1..n without holes`);
    }
    if (q.blanks.length !== seen.size) {
      issue(ctx, ['blanks'], `has ${q.blanks.length} entries but the text has ${seen.size} gaps`);
    }
  })
  .describe('The learner fills the gaps of a text.');

const rubric = z
  .strictObject({
    criteria: z
      .array(
        z.strictObject({
          id,
          title: z.string().trim().min(1).max(200),
          description: z.string().max(10000).nullish(),
          levels: z
            .array(
              z.strictObject({
                id,
                title: z.string().trim().min(1).max(200),
                points: z.number().min(0).describe('Points awarded at this level.'),
              }),
            )
            .min(1)
            .max(10),
        }),
      )
      .min(1)
      .max(20),
  })
  .describe('Criteria with levels; the grader picks one level per criterion.');
export type Rubric = z.infer<typeof rubric>;

const essay = z
  .strictObject({
    type: z.literal('ESSAY'),
    ...common,
    minWords: z.int().min(0).nullable().default(null).describe('Advisory minimum word count (default null).'),
    maxWords: z.int().min(1).nullable().default(null).describe('Advisory maximum word count (default null).'),
    rubric: rubric
      .nullable()
      .default(null)
      .describe('When given, the sum over criteria of the highest level points must equal `points`.'),
  })
  .superRefine((q, ctx) => {
    if (q.minWords !== null && q.maxWords !== null && q.minWords > q.maxWords) {
      issue(ctx, ['minWords'], `must not exceed maxWords (${q.maxWords})`);
    }
    if (q.rubric === null) return;
    q.rubric.criteria.forEach((c, i) => {
      uniqueIds(ctx, c.levels.map((l) => l.id), (j) => ['rubric', 'criteria', i, 'levels', j, 'id'], 'level id');
    });
    uniqueIds(ctx, q.rubric.criteria.map((c) => c.id), (i) => ['rubric', 'criteria', i, 'id'], 'criterion id');
    const total = rubricMax(q.rubric);
    if (Math.abs(total - q.points) > 1e-9) {
      issue(ctx, ['rubric'], `the criteria's highest levels add up to ${total}, not the question's ${q.points} points`);
    }
  })
  .describe('Free text, graded by hand (with the rubric when there is one).');

/** The highest total a rubric can award. */
export function rubricMax(r: Rubric): number {
  return r.criteria.reduce((sum, c) => sum + Math.max(...c.levels.map((l) => l.points)), 0);
}

export const questionDefinition = z
  .discriminatedUnion('type', [
    singleChoice,
    multipleChoice,
    trueFalse,
    shortAnswer,
    numeric,
    matching,
    ordering,
    fillInTheBlanks,
    essay,
  ])
  .describe('A question with its answer key; `type` selects the fields.');
export type QuestionDefinition = z.infer<typeof questionDefinition>;
export type QuestionOf<T extends QuestionType> = Extract<QuestionDefinition, { type: T }>;

export interface Issue {
  path: string;
  message: string;
}

/** `['questions', 3, 'options', 1, 'id']` → `questions[3].options[1].id`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function toIssues(error: z.ZodError, limit = Infinity): Issue[] {
  return error.issues.slice(0, limit).map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** Parses + checks cross-field rules; returns the definition or a list of {path, message}. */
export function parseQuestion(raw: unknown): { ok: true; value: QuestionDefinition } | { ok: false; issues: Issue[] } {
  const parsed = questionDefinition.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: toIssues(parsed.error) };
}

/** Max points of a question. */
export function maxPoints(def: QuestionDefinition): number {
  return def.points;
}
