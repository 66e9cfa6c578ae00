// What a learner sees: no key field ever, reproducible from the seed, ORDERING never in key order.
import { describe, expect, it } from 'vitest';
import { correctAnswer, present } from './presentation.ts';
import { parseQuestion, QUESTION_TYPES, type QuestionDefinition, type QuestionType } from './question.ts';
import { rngFrom } from './random.ts';
import { RAW } from './test-fixtures.ts';

function def(type: QuestionType, overrides: Record<string, unknown> = {}): QuestionDefinition {
  const r = parseQuestion({ ...RAW[type], ...overrides });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}
const KEY_FIELDS = ['correct', 'accepted', 'pairs', 'value', 'tolerance', 'caseSensitive', 'blanks', 'explanation'];

describe('present', () => {
  it('never contains a key field, for any type or seed', () => {
    for (const type of QUESTION_TYPES) {
      for (const seed of ['s1', 's2', 's3']) {
        const shown = present(def(type, { explanation: 'because' }), { shuffleOptions: true, rng: rngFrom(seed, type) });
        const json = JSON.stringify(shown);
        for (const key of KEY_FIELDS) expect(json).not.toContain(`"${key}"`);
        expect(json).not.toContain('because');
      }
    }
  });

  it('is the same for the same seed', () => {
    for (const type of QUESTION_TYPES) {
      const a = present(def(type), { shuffleOptions: true, rng: rngFrom('seed', 'q1') });
      const b = present(def(type), { shuffleOptions: true, rng: rngFrom('seed', 'q1') });
      expect(a).toEqual(b);
    }
  });

  it('shuffles choice options only when asked', () => {
    const d = def('SINGLE_CHOICE', {
      options: Array.from({ length: 10 }, (_, i) => ({ id: `o${i}`, text: `${i}` })),
      correct: 'o0',
    });
    const ids = (shuffleOptions: boolean, seed: string) =>
      present(d, { shuffleOptions, rng: rngFrom(seed) }).options?.map((o) => o.id);
    expect(ids(false, 'x')).toEqual(d.type === 'SINGLE_CHOICE' && d.options.map((o) => o.id));
    expect(ids(true, 'x')).not.toEqual(ids(false, 'x'));
    expect([...(ids(true, 'x') ?? [])].sort()).toEqual([...(ids(false, 'x') ?? [])].sort());
  });

  it('never shows ORDERING items in key order, even when the shuffle lands on it', () => {
    const two = def('ORDERING', { items: [{ id: 'a', text: 'A' }, { id: 'b', text: 'B' }] });
    for (let s = 0; s < 50; s++) {
      const shown = present(two, { shuffleOptions: false, rng: rngFrom(`seed-${s}`) });
      expect(shown.items?.map((i) => i.id)).toEqual(['b', 'a']);
    }
    const four = def('ORDERING');
    for (let s = 0; s < 50; s++) {
      const shown = present(four, { shuffleOptions: false, rng: rngFrom(`seed-${s}`) });
      expect(shown.items?.map((i) => i.id)).not.toEqual(['atom', 'cell', 'organ', 'body']);
    }
  });

  it('shows what each type needs', () => {
    expect(present(def('FILL_IN_THE_BLANKS'), { shuffleOptions: false, rng: rngFrom('x') })).toEqual({
      type: 'FILL_IN_THE_BLANKS',
      prompt: 'Complete the sentence.',
      points: 2,
      text: 'The {{1}} is the powerhouse of the {{2}}.',
      blankCount: 2,
    });
    expect(present(def('NUMERIC'), { shuffleOptions: false, rng: rngFrom('x') })).toMatchObject({ unit: 'm/s²' });
    const matching = present(def('MATCHING'), { shuffleOptions: false, rng: rngFrom('x') });
    expect(matching.prompts?.map((p) => p.id)).toEqual(['fr', 'de', 'it']);
    expect(matching.options).toHaveLength(4);
    expect(present(def('ESSAY'), { shuffleOptions: false, rng: rngFrom('x') })).toMatchObject({ minWords: 200, maxWords: 800 });
  });
});

describe('correctAnswer', () => {
  it('gives the key in a typed shape', () => {
    expect(correctAnswer(def('SINGLE_CHOICE'))).toEqual({ type: 'SINGLE_CHOICE', choiceId: 'b' });
    expect(correctAnswer(def('ORDERING'))).toEqual({ type: 'ORDERING', order: ['atom', 'cell', 'organ', 'body'] });
    expect(correctAnswer(def('SHORT_ANSWER'))).toEqual({ type: 'SHORT_ANSWER', accepted: ['Paris', 'Ville  Lumière'], caseSensitive: false });
    expect(correctAnswer(def('NUMERIC'))).toEqual({ type: 'NUMERIC', value: 9.81, tolerance: 0.01, unit: 'm/s²' });
    expect(correctAnswer(def('ESSAY'))).toEqual({ type: 'ESSAY' });
  });
});
