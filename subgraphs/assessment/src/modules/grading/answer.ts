// What a learner submits for one question. The API receives a flat, all-optional shape (GraphQL
// has no input unions); parseAnswer turns it into a typed Answer against the question, refusing
// with a sentence that names the field so the API can return it as BAD_USER_INPUT. The typed
// Answer is also what is stored (jsonb), hence answerSchema for reading it back.
import { z } from 'zod';
import { gapNumbers, type QuestionDefinition } from './question.ts';

/** The raw shape the API receives (all optional; GraphQL AnswerInput is flat). */
export interface RawAnswer {
  choiceIds?: string[] | null;
  boolean?: boolean | null;
  text?: string | null;
  number?: number | null;
  unit?: string | null;
  pairs?: { promptId: string; optionId: string }[] | null;
  order?: string[] | null;
  blanks?: string[] | null;
}

export type Answer =
  | { type: 'SINGLE_CHOICE'; choiceId: string }
  | { type: 'MULTIPLE_CHOICE'; choiceIds: string[] }
  | { type: 'TRUE_FALSE'; value: boolean }
  | { type: 'SHORT_ANSWER'; text: string }
  | { type: 'NUMERIC'; value: number; unit: string | null }
  | { type: 'MATCHING'; pairs: { promptId: string; optionId: string }[] }
  | { type: 'ORDERING'; order: string[] }
  | { type: 'FILL_IN_THE_BLANKS'; blanks: string[] }
  | { type: 'ESSAY'; text: string };

export const MAX_SHORT_TEXT = 20_000;
export const MAX_ESSAY_TEXT = 100_000;
const MAX_UNIT = 20;

/** The stored Answer, as read back from JSON. Limits match parseAnswer's. */
export const answerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('SINGLE_CHOICE'), choiceId: z.string() }),
  z.strictObject({ type: z.literal('MULTIPLE_CHOICE'), choiceIds: z.array(z.string()) }),
  z.strictObject({ type: z.literal('TRUE_FALSE'), value: z.boolean() }),
  z.strictObject({ type: z.literal('SHORT_ANSWER'), text: z.string().max(MAX_SHORT_TEXT) }),
  z.strictObject({ type: z.literal('NUMERIC'), value: z.number(), unit: z.string().max(MAX_UNIT).nullable() }),
  z.strictObject({
    type: z.literal('MATCHING'),
    pairs: z.array(z.strictObject({ promptId: z.string(), optionId: z.string() })),
  }),
  z.strictObject({ type: z.literal('ORDERING'), order: z.array(z.string()) }),
  z.strictObject({ type: z.literal('FILL_IN_THE_BLANKS'), blanks: z.array(z.string().max(MAX_SHORT_TEXT)) }),
  z.strictObject({ type: z.literal('ESSAY'), text: z.string().max(MAX_ESSAY_TEXT) }),
]) satisfies z.ZodType<Answer>;

type Field = keyof RawAnswer;
const FIELDS: readonly Field[] = ['choiceIds', 'boolean', 'text', 'number', 'unit', 'pairs', 'order', 'blanks'];
/** The fields each type reads; any other field must be absent or null. */
const FIELDS_OF: Record<QuestionDefinition['type'], readonly Field[]> = {
  SINGLE_CHOICE: ['choiceIds'],
  MULTIPLE_CHOICE: ['choiceIds'],
  TRUE_FALSE: ['boolean'],
  SHORT_ANSWER: ['text'],
  NUMERIC: ['number', 'unit'],
  MATCHING: ['pairs'],
  ORDERING: ['order'],
  FILL_IN_THE_BLANKS: ['blanks'],
  ESSAY: ['text'],
};
const TYPE_LABEL: Record<QuestionDefinition['type'], string> = {
  SINGLE_CHOICE: 'a single-choice',
  MULTIPLE_CHOICE: 'a multiple-choice',
  TRUE_FALSE: 'a true/false',
  SHORT_ANSWER: 'a short-answer',
  NUMERIC: 'a numeric',
  MATCHING: 'a matching',
  ORDERING: 'an ordering',
  FILL_IN_THE_BLANKS: 'a fill-in-the-blanks',
  ESSAY: 'an essay',
};

type Parsed = { ok: true; value: Answer } | { ok: false; message: string; field: string };

class Refusal {
  readonly field: string;
  readonly reason: string;
  constructor(field: string, reason: string) {
    this.field = field;
    this.reason = reason;
  }
}
function refuse(field: string, reason: string): never {
  throw new Refusal(field, reason);
}

function required<T>(raw: RawAnswer, field: Field, label: string): NonNullable<T> {
  const value = raw[field] as T | null | undefined;
  if (value === undefined || value === null) refuse(field, `required for ${label} question`);
  return value;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) refuse(field, 'must be a list of strings');
  return value as string[];
}

function noDuplicates(values: readonly string[], field: string, what: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) refuse(field, `${what} '${v}' is given twice`);
    seen.add(v);
  }
}

/**
 * Checks a raw answer against the question: the field for its type must be present, ids must
 * exist, no duplicates; other fields must be absent/null. Errors are readable sentences
 * naming the field, e.g. "choiceIds: option 'z' is not an option of this question".
 */
export function parseAnswer(def: QuestionDefinition, raw: RawAnswer): Parsed {
  try {
    return { ok: true, value: read(def, raw) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, field: error.field, message: `${error.field}: ${error.reason}` };
    throw error;
  }
}

function read(def: QuestionDefinition, raw: RawAnswer): Answer {
  const label = TYPE_LABEL[def.type];
  for (const field of FIELDS) {
    if (!FIELDS_OF[def.type].includes(field) && raw[field] !== undefined && raw[field] !== null) {
      refuse(field, `not expected for ${label} question`);
    }
  }
  switch (def.type) {
    case 'SINGLE_CHOICE': {
      const ids = stringList(required(raw, 'choiceIds', label), 'choiceIds');
      if (ids.length !== 1) refuse('choiceIds', `exactly one option must be chosen (got ${ids.length})`);
      const choiceId = ids[0] as string;
      if (!def.options.some((o) => o.id === choiceId)) refuse('choiceIds', `option '${choiceId}' is not an option of this question`);
      return { type: def.type, choiceId };
    }
    case 'MULTIPLE_CHOICE': {
      const choiceIds = stringList(required(raw, 'choiceIds', label), 'choiceIds');
      noDuplicates(choiceIds, 'choiceIds', 'option');
      for (const c of choiceIds) {
        if (!def.options.some((o) => o.id === c)) refuse('choiceIds', `option '${c}' is not an option of this question`);
      }
      return { type: def.type, choiceIds: [...choiceIds] };
    }
    case 'TRUE_FALSE': {
      const value = required<boolean>(raw, 'boolean', label);
      if (typeof value !== 'boolean') refuse('boolean', 'must be true or false');
      return { type: def.type, value };
    }
    case 'SHORT_ANSWER':
    case 'ESSAY': {
      const text = required<string>(raw, 'text', label);
      const max = def.type === 'ESSAY' ? MAX_ESSAY_TEXT : MAX_SHORT_TEXT;
      if (typeof text !== 'string') refuse('text', 'must be a string');
      if (text.length > max) refuse('text', `must be at most ${max} characters (got ${text.length})`);
      return { type: def.type, text };
    }
    case 'NUMERIC': {
      const value = required<number>(raw, 'number', label);
      if (typeof value !== 'number' || !Number.isFinite(value)) refuse('number', 'must be a finite number');
      const unit = raw.unit ?? null;
      if (unit !== null && typeof unit !== 'string') refuse('unit', 'must be a string');
      const trimmed = unit?.trim() ?? '';
      if (trimmed.length > MAX_UNIT) refuse('unit', `must be at most ${MAX_UNIT} characters`);
      // An empty unit is the same as none: "units optional".
      return { type: def.type, value, unit: trimmed === '' ? null : trimmed };
    }
    case 'MATCHING': {
      const pairs = required<RawAnswer['pairs']>(raw, 'pairs', label);
      if (!Array.isArray(pairs)) refuse('pairs', 'must be a list of {promptId, optionId}');
      const seen = new Set<string>();
      const out: { promptId: string; optionId: string }[] = [];
      for (const p of pairs) {
        if (typeof p?.promptId !== 'string' || typeof p.optionId !== 'string') {
          refuse('pairs', 'each pair needs a promptId and an optionId');
        }
        if (!def.prompts.some((q) => q.id === p.promptId)) refuse('pairs', `prompt '${p.promptId}' is not a prompt of this question`);
        if (!def.options.some((o) => o.id === p.optionId)) refuse('pairs', `option '${p.optionId}' is not an option of this question`);
        if (seen.has(p.promptId)) refuse('pairs', `prompt '${p.promptId}' is paired more than once`);
        seen.add(p.promptId);
        out.push({ promptId: p.promptId, optionId: p.optionId });
      }
      return { type: def.type, pairs: out };
    }
    case 'ORDERING': {
      const order = stringList(required(raw, 'order', label), 'order');
      noDuplicates(order, 'order', 'item');
      const ids = new Set(def.items.map((i) => i.id));
      for (const o of order) if (!ids.has(o)) refuse('order', `item '${o}' is not an item of this question`);
      if (order.length !== ids.size) refuse('order', `must list all ${ids.size} items exactly once (got ${order.length})`);
      return { type: def.type, order: [...order] };
    }
    case 'FILL_IN_THE_BLANKS': {
      const blanks = stringList(required(raw, 'blanks', label), 'blanks');
      const gaps = gapNumbers(def.text).length;
      if (blanks.length !== gaps) refuse('blanks', `must have one entry per gap: ${gaps} expected, got ${blanks.length}`);
      blanks.forEach((b, i) => {
        if (b.length > MAX_SHORT_TEXT) refuse('blanks', `entry ${i + 1} must be at most ${MAX_SHORT_TEXT} characters`);
      });
      return { type: def.type, blanks: [...blanks] };
    }
  }
}

/** A typed answer back in the flat shape (what the API shows, and what parseAnswer reads). */
export function rawAnswerOf(a: Answer): RawAnswer {
  switch (a.type) {
    case 'SINGLE_CHOICE':
      return { choiceIds: [a.choiceId] };
    case 'MULTIPLE_CHOICE':
      return { choiceIds: a.choiceIds };
    case 'TRUE_FALSE':
      return { boolean: a.value };
    case 'SHORT_ANSWER':
    case 'ESSAY':
      return { text: a.text };
    case 'NUMERIC':
      return { number: a.value, unit: a.unit };
    case 'MATCHING':
      return { pairs: a.pairs };
    case 'ORDERING':
      return { order: a.order };
    case 'FILL_IN_THE_BLANKS':
      return { blanks: a.blanks };
  }
}
