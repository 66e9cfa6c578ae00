// What a learner sees of a question: never the key. Built field by field from the definition
// (an allow-list) rather than by deleting key fields, so a key field added later cannot leak.
// A pure function of (definition, rng): the server stores the attempt's seed and re-derives the
// same presentation on every request.
import type { Answer } from './answer.ts';
import { gapNumbers, type QuestionDefinition, type QuestionType, type Rubric } from './question.ts';
import { shuffle, type Rng } from './random.ts';

export interface Choice {
  id: string;
  text: string;
}

export interface PresentedQuestion {
  type: QuestionType;
  prompt: string;
  points: number;
  /** SINGLE_CHOICE, MULTIPLE_CHOICE, MATCHING (right-hand side). */
  options?: Choice[];
  /** MATCHING (left-hand side), in authored order. */
  prompts?: Choice[];
  /** ORDERING, never in key order. */
  items?: Choice[];
  /** FILL_IN_THE_BLANKS: the text with its {{n}} gaps. */
  text?: string;
  blankCount?: number;
  /** NUMERIC. */
  unit?: string | null;
  /** ESSAY. */
  minWords?: number | null;
  maxWords?: number | null;
  /** ESSAY: shown so the learner knows how it is marked; a rubric is not a key. */
  rubric?: Rubric | null;
}

const copy = (list: readonly Choice[]): Choice[] => list.map((c) => ({ id: c.id, text: c.text }));

/**
 * Options/items shuffled with `rng` when `shuffleOptions`. MATCHING options and ORDERING items
 * are always shuffled: ORDERING shown in key order would give the answer, so a shuffle that
 * lands on the key order is rotated by one.
 */
export function present(def: QuestionDefinition, opts: { shuffleOptions: boolean; rng: Rng }): PresentedQuestion {
  const base = { type: def.type, prompt: def.prompt, points: def.points };
  switch (def.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE':
      return { ...base, options: opts.shuffleOptions ? shuffle(copy(def.options), opts.rng) : copy(def.options) };
    case 'TRUE_FALSE':
    case 'SHORT_ANSWER':
      return base;
    case 'NUMERIC':
      return { ...base, unit: def.unit };
    case 'MATCHING':
      return { ...base, prompts: copy(def.prompts), options: shuffle(copy(def.options), opts.rng) };
    case 'ORDERING': {
      let items = shuffle(copy(def.items), opts.rng);
      if (items.every((item, i) => item.id === def.items[i]?.id)) items = [...items.slice(1), ...items.slice(0, 1)];
      return { ...base, items };
    }
    case 'FILL_IN_THE_BLANKS':
      return { ...base, text: def.text, blankCount: gapNumbers(def.text).length };
    case 'ESSAY':
      return {
        ...base,
        minWords: def.minWords,
        maxWords: def.maxWords,
        rubric: def.rubric === null ? null : structuredClone(def.rubric),
      };
  }
}

/**
 * The key for review, typed per question type. Where the key is itself a valid answer it has the
 * Answer shape (SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE, NUMERIC value, MATCHING, ORDERING), so a
 * client can render it with the same component as the learner's answer; text types list every
 * accepted answer; an essay has no key.
 */
export type CorrectAnswer =
  | Extract<Answer, { type: 'SINGLE_CHOICE' | 'MULTIPLE_CHOICE' | 'TRUE_FALSE' | 'MATCHING' | 'ORDERING' }>
  | { type: 'SHORT_ANSWER'; accepted: string[]; caseSensitive: boolean }
  | { type: 'NUMERIC'; value: number; tolerance: number; unit: string | null }
  | { type: 'FILL_IN_THE_BLANKS'; blanks: { accepted: string[]; caseSensitive: boolean }[] }
  | { type: 'ESSAY' };

/** The correct answer, for review when the quiz settings allow. */
export function correctAnswer(def: QuestionDefinition): CorrectAnswer {
  switch (def.type) {
    case 'SINGLE_CHOICE':
      return { type: def.type, choiceId: def.correct };
    case 'MULTIPLE_CHOICE':
      return { type: def.type, choiceIds: [...def.correct] };
    case 'TRUE_FALSE':
      return { type: def.type, value: def.correct };
    case 'SHORT_ANSWER':
      return { type: def.type, accepted: [...def.accepted], caseSensitive: def.caseSensitive };
    case 'NUMERIC':
      return { type: def.type, value: def.value, tolerance: def.tolerance, unit: def.unit };
    case 'MATCHING':
      return { type: def.type, pairs: def.pairs.map((p) => ({ promptId: p.promptId, optionId: p.optionId })) };
    case 'ORDERING':
      return { type: def.type, order: def.items.map((i) => i.id) };
    case 'FILL_IN_THE_BLANKS':
      return {
        type: def.type,
        blanks: def.blanks.map((b) => ({ accepted: [...b.accepted], caseSensitive: b.caseSensitive })),
      };
    case 'ESSAY':
      return { type: def.type };
  }
}
