// The GraphQL shape of a question (QuestionInput, QuestionVersion: flat, as GraphQL has no
// input unions) to and from the grading module's definition (a union on `type`). The field
// names are the definition's except three, renamed for clarity in the API: `correct` is
// `correctOptionIds` (choice types) or `correctBoolean` (TRUE_FALSE), `accepted` is
// `acceptedAnswers`. Fields of another type are refused, not ignored.
import { parseQuestion, type Issue, type QuestionDefinition, type QuestionType } from '../grading/question.ts';

type Option = { id: string; text: string };
export interface QuestionInput {
  type: QuestionType;
  prompt: string;
  points?: number | null;
  explanation?: string | null;
  options?: Option[] | null;
  correctOptionIds?: string[] | null;
  correctBoolean?: boolean | null;
  acceptedAnswers?: string[] | null;
  caseSensitive?: boolean | null;
  value?: number | null;
  tolerance?: number | null;
  unit?: string | null;
  prompts?: Option[] | null;
  pairs?: { promptId: string; optionId: string }[] | null;
  items?: Option[] | null;
  text?: string | null;
  blanks?: { accepted: string[]; caseSensitive?: boolean | null }[] | null;
  minWords?: number | null;
  maxWords?: number | null;
  rubric?: { criteria: { id: string; title: string; description?: string | null; levels: { id: string; title: string; points: number }[] }[] } | null;
}

/** The API fields each type takes (besides type, prompt, points, explanation). */
const FIELDS: Record<QuestionType, (keyof QuestionInput)[]> = {
  SINGLE_CHOICE: ['options', 'correctOptionIds'],
  MULTIPLE_CHOICE: ['options', 'correctOptionIds'],
  TRUE_FALSE: ['correctBoolean'],
  SHORT_ANSWER: ['acceptedAnswers', 'caseSensitive'],
  NUMERIC: ['value', 'tolerance', 'unit'],
  MATCHING: ['prompts', 'options', 'pairs'],
  ORDERING: ['items'],
  FILL_IN_THE_BLANKS: ['text', 'blanks'],
  ESSAY: ['minWords', 'maxWords', 'rubric'],
};
const COMMON = new Set<keyof QuestionInput>(['type', 'prompt', 'points', 'explanation']);

/** The definition's field name in the API. */
function apiPath(type: QuestionType, path: string): string {
  if (path === 'correct' || path.startsWith('correct[') || path.startsWith('correct.')) return path.replace(/^correct/u, type === 'TRUE_FALSE' ? 'correctBoolean' : 'correctOptionIds');
  return path.replace(/^accepted/u, 'acceptedAnswers');
}

/** Parses an API question: the definition, or issues whose paths name the API's fields. */
export function definitionFromInput(input: QuestionInput): { ok: true; value: QuestionDefinition } | { ok: false; issues: Issue[] } {
  const allowed = new Set(FIELDS[input.type]);
  const stray = (Object.keys(input) as (keyof QuestionInput)[]).filter((k) => !COMMON.has(k) && !allowed.has(k) && input[k] != null);
  if (stray.length) return { ok: false, issues: stray.map((k) => ({ path: k, message: `${k} does not apply to a ${input.type} question` })) };
  const raw: Record<string, unknown> = { type: input.type, prompt: input.prompt, explanation: input.explanation ?? null };
  if (input.points != null) raw.points = input.points;
  const set = (key: string, v: unknown) => {
    if (v != null) raw[key] = v;
  };
  switch (input.type) {
    case 'SINGLE_CHOICE':
      set('options', input.options);
      set('correct', input.correctOptionIds && input.correctOptionIds.length === 1 ? input.correctOptionIds[0] : input.correctOptionIds);
      break;
    case 'MULTIPLE_CHOICE':
      set('options', input.options);
      set('correct', input.correctOptionIds);
      break;
    case 'TRUE_FALSE':
      set('correct', input.correctBoolean);
      break;
    case 'SHORT_ANSWER':
      set('accepted', input.acceptedAnswers);
      set('caseSensitive', input.caseSensitive);
      break;
    case 'NUMERIC':
      set('value', input.value);
      set('tolerance', input.tolerance);
      set('unit', input.unit);
      break;
    case 'MATCHING':
      set('prompts', input.prompts);
      set('options', input.options);
      set('pairs', input.pairs);
      break;
    case 'ORDERING':
      set('items', input.items);
      break;
    case 'FILL_IN_THE_BLANKS':
      set('text', input.text);
      set('blanks', input.blanks?.map((b) => ({ accepted: b.accepted, caseSensitive: b.caseSensitive ?? false })));
      break;
    case 'ESSAY':
      set('minWords', input.minWords);
      set('maxWords', input.maxWords);
      set('rubric', input.rubric ? { criteria: input.rubric.criteria.map((c) => ({ ...c, description: c.description ?? null })) } : null);
      break;
  }
  const parsed = parseQuestion(raw);
  return parsed.ok ? parsed : { ok: false, issues: parsed.issues.map((i) => ({ path: apiPath(input.type, i.path), message: i.message })) };
}

/** A definition in the API's flat shape (QuestionVersion's fields; null where a field does not apply). */
export function inputFromDefinition(def: QuestionDefinition) {
  const base = {
    type: def.type,
    prompt: def.prompt,
    points: def.points,
    explanation: def.explanation ?? null,
    options: null as Option[] | null,
    correctOptionIds: null as string[] | null,
    correctBoolean: null as boolean | null,
    acceptedAnswers: null as string[] | null,
    caseSensitive: null as boolean | null,
    value: null as number | null,
    tolerance: null as number | null,
    unit: null as string | null,
    prompts: null as Option[] | null,
    pairs: null as { promptId: string; optionId: string }[] | null,
    items: null as Option[] | null,
    text: null as string | null,
    blanks: null as { accepted: string[]; caseSensitive: boolean }[] | null,
    minWords: null as number | null,
    maxWords: null as number | null,
    rubric: null as QuestionInput['rubric'],
  };
  switch (def.type) {
    case 'SINGLE_CHOICE':
      return { ...base, options: def.options, correctOptionIds: [def.correct] };
    case 'MULTIPLE_CHOICE':
      return { ...base, options: def.options, correctOptionIds: def.correct };
    case 'TRUE_FALSE':
      return { ...base, correctBoolean: def.correct };
    case 'SHORT_ANSWER':
      return { ...base, acceptedAnswers: def.accepted, caseSensitive: def.caseSensitive };
    case 'NUMERIC':
      return { ...base, value: def.value, tolerance: def.tolerance, unit: def.unit };
    case 'MATCHING':
      return { ...base, prompts: def.prompts, options: def.options, pairs: def.pairs };
    case 'ORDERING':
      return { ...base, items: def.items };
    case 'FILL_IN_THE_BLANKS':
      return { ...base, text: def.text, blanks: def.blanks };
    case 'ESSAY':
      return { ...base, minWords: def.minWords, maxWords: def.maxWords, rubric: def.rubric ?? null };
  }
}
