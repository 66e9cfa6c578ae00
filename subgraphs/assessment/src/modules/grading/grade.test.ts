// The grading rules of every type, edge cases included (the rules docs/bank-format.md states).
import { describe, expect, it } from 'vitest';
import type { Answer } from './answer.ts';
import { grade, gradeEssay, normaliseText } from './grade.ts';
import { parseQuestion, type QuestionDefinition, type QuestionOf, type QuestionType } from './question.ts';
import { RAW } from './test-fixtures.ts';

function def<T extends QuestionType>(type: T, overrides: Record<string, unknown> = {}): QuestionOf<T> {
  const r = parseQuestion({ ...RAW[type], ...overrides });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value as QuestionOf<T>;
}
const score = (d: QuestionDefinition, a: Answer | null) => grade(d, a).score;

describe('grade', () => {
  it('unanswered scores 0 for every type, essays included', () => {
    for (const type of Object.keys(RAW) as QuestionType[]) {
      const d = def(type);
      expect(grade(d, null)).toEqual({ score: 0, max: d.points, fraction: 0, manual: false });
    }
  });

  it('single choice and true/false are all or nothing', () => {
    expect(grade(def('SINGLE_CHOICE'), { type: 'SINGLE_CHOICE', choiceId: 'b' })).toEqual({ score: 1, max: 1, fraction: 1, manual: false });
    expect(score(def('SINGLE_CHOICE'), { type: 'SINGLE_CHOICE', choiceId: 'a' })).toBe(0);
    expect(score(def('TRUE_FALSE'), { type: 'TRUE_FALSE', value: true })).toBe(1);
    expect(score(def('TRUE_FALSE'), { type: 'TRUE_FALSE', value: false })).toBe(0);
  });

  it('multiple choice: partial credit, penalty per wrong pick, floored at 0', () => {
    const d = def('MULTIPLE_CHOICE'); // 4 points, correct a b, incorrect c d
    const mc = (...choiceIds: string[]) => grade(d, { type: 'MULTIPLE_CHOICE', choiceIds });
    expect(mc('a', 'b').score).toBe(4);
    expect(mc('a').score).toBe(2);
    expect(mc('a', 'c')).toMatchObject({ score: 0, fraction: 0 }); // 1/2 − 1/2
    expect(mc('a', 'b', 'c').score).toBe(2); // 1 − 1/2
    expect(mc('a', 'b', 'c', 'd').score).toBe(0); // everything
    expect(mc('c', 'd').score).toBe(0); // floor, not −4
    expect(mc().score).toBe(0);
    const allCorrect = def('MULTIPLE_CHOICE', { correct: ['a', 'b', 'c', 'd'] });
    expect(score(allCorrect, { type: 'MULTIPLE_CHOICE', choiceIds: ['a', 'b', 'c', 'd'] })).toBe(4);
    const third = def('MULTIPLE_CHOICE', { points: 1, correct: ['a', 'b', 'c'] });
    expect(score(third, { type: 'MULTIPLE_CHOICE', choiceIds: ['a'] })).toBe(0.3333);
  });

  it('short answer: NFC, trim, collapsed whitespace, case unless case-sensitive', () => {
    const d = def('SHORT_ANSWER');
    const sa = (text: string) => score(d, { type: 'SHORT_ANSWER', text });
    expect(sa('  PARIS ')).toBe(1);
    expect(sa('ville \n lumie\u0300re')).toBe(1); // decomposed è, newline
    expect(sa('Pari')).toBe(0);
    const cs = def('SHORT_ANSWER', { caseSensitive: true });
    expect(score(cs, { type: 'SHORT_ANSWER', text: 'Paris' })).toBe(1);
    expect(score(cs, { type: 'SHORT_ANSWER', text: 'paris' })).toBe(0);
    expect(normaliseText(' A\u00a0 B\t', false)).toBe('a b');
    expect(normaliseText('İ', true)).toBe('İ');
  });

  it('numeric: tolerance edges and units', () => {
    const d = def('NUMERIC'); // 9.81 ± 0.01 m/s², 2 points
    const num = (value: number, unit: string | null = null) => score(d, { type: 'NUMERIC', value, unit });
    expect(num(9.81)).toBe(2);
    expect(num(9.8)).toBe(2); // exactly at the edge despite float noise
    expect(num(9.82)).toBe(2);
    expect(num(9.8201)).toBe(0);
    expect(num(9.81, 'm/s²')).toBe(2);
    expect(num(9.81, ' m/s² ')).toBe(2);
    expect(num(9.81, 'M/S²')).toBe(0); // units are case-sensitive
    expect(num(9.81, '')).toBe(2);
    const exact = def('NUMERIC', { tolerance: 0, value: 0.3, unit: 'mV' });
    expect(score(exact, { type: 'NUMERIC', value: 0.1 + 0.2, unit: null })).toBe(2);
    expect(score(exact, { type: 'NUMERIC', value: 0.3, unit: 'MV' })).toBe(0);
    const unitless = def('NUMERIC', { unit: null });
    expect(score(unitless, { type: 'NUMERIC', value: 9.81, unit: 'kg' })).toBe(2);
  });

  it('matching: correct pairs over prompts', () => {
    const d = def('MATCHING'); // 3 points
    const m = (...pairs: [string, string][]) =>
      grade(d, { type: 'MATCHING', pairs: pairs.map(([promptId, optionId]) => ({ promptId, optionId })) });
    expect(m(['fr', 'paris'], ['de', 'berlin'], ['it', 'rome']).score).toBe(3);
    expect(m(['fr', 'paris'], ['de', 'rome'], ['it', 'madrid']).score).toBe(1);
    expect(m(['fr', 'paris']).score).toBe(1); // unpaired prompts simply score nothing
    expect(m().fraction).toBe(0);
  });

  it('ordering: items at their position over items', () => {
    const d = def('ORDERING'); // 4 points: atom cell organ body
    const o = (...order: string[]) => score(d, { type: 'ORDERING', order });
    expect(o('atom', 'cell', 'organ', 'body')).toBe(4);
    expect(o('cell', 'atom', 'organ', 'body')).toBe(2);
    expect(o('body', 'atom', 'cell', 'organ')).toBe(0); // shifted by one: nothing in place
  });

  it('fill in the blanks: each blank with its own case rule', () => {
    const d = def('FILL_IN_THE_BLANKS'); // 2 points; blank 2 case-sensitive 'Cell'
    const f = (...blanks: string[]) => score(d, { type: 'FILL_IN_THE_BLANKS', blanks });
    expect(f('Mitochondria', 'Cell')).toBe(2);
    expect(f(' mitochondrion ', 'cell')).toBe(1);
    expect(f('', '')).toBe(0);
  });

  it('an answered essay waits for a grader', () => {
    expect(grade(def('ESSAY'), { type: 'ESSAY', text: 'Because…' })).toEqual({ score: null, max: 10, fraction: null, manual: true });
  });

  it('rounds scores to 4 decimals', () => {
    const d = def('ORDERING', { points: 1, items: [...RAW.ORDERING.items, { id: 'x', text: 'X' }, { id: 'y', text: 'Y' }] });
    // 6 items, first one in place
    expect(score(d, { type: 'ORDERING', order: ['atom', 'body', 'cell', 'organ', 'y', 'x'] })).toBe(0.1667);
  });
});

describe('gradeEssay', () => {
  const withRubric = def('ESSAY');
  const plain = def('ESSAY', { rubric: null });
  it('sums the selected levels of a rubric', () => {
    expect(gradeEssay(withRubric, { rubric: [{ criterionId: 'content', levelId: 'good' }, { criterionId: 'style', levelId: 'fine', comment: 'clear' }] })).toEqual({
      ok: true,
      score: 8,
    });
  });
  it('refuses incomplete, repeated or unknown selections', () => {
    expect(gradeEssay(withRubric, { rubric: [{ criterionId: 'content', levelId: 'good' }] })).toMatchObject({ ok: false, field: 'rubric' });
    expect(
      gradeEssay(withRubric, { rubric: [{ criterionId: 'content', levelId: 'good' }, { criterionId: 'content', levelId: 'weak' }, { criterionId: 'style', levelId: 'fine' }] }),
    ).toMatchObject({ ok: false, message: "rubric: criterion 'content' is selected more than once" });
    expect(gradeEssay(withRubric, { rubric: [{ criterionId: 'content', levelId: 'fine' }, { criterionId: 'style', levelId: 'fine' }] })).toMatchObject({
      ok: false,
      message: "rubric: level 'fine' is not a level of criterion 'content'",
    });
    expect(gradeEssay(withRubric, { score: 5 })).toMatchObject({ ok: false, field: 'score' });
  });
  it('takes a plain score in [0, points] without a rubric', () => {
    expect(gradeEssay(plain, { score: 7.5 })).toEqual({ ok: true, score: 7.5 });
    expect(gradeEssay(plain, { score: 0 })).toEqual({ ok: true, score: 0 });
    expect(gradeEssay(plain, { score: 10.01 })).toMatchObject({ ok: false, field: 'score' });
    expect(gradeEssay(plain, { score: -1 })).toMatchObject({ ok: false, field: 'score' });
    expect(gradeEssay(plain, {})).toMatchObject({ ok: false, field: 'score' });
    expect(gradeEssay(plain, { rubric: [{ criterionId: 'content', levelId: 'good' }] })).toMatchObject({ ok: false, field: 'rubric' });
  });
});
