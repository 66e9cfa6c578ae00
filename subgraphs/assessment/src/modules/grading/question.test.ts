// The definition schema: what an author may save, and the paths of what is refused.
import { describe, expect, it } from 'vitest';
import { maxPoints, parseQuestion, QUESTION_TYPES, type QuestionDefinition } from './question.ts';
import { RAW } from './test-fixtures.ts';

function issuesOf(raw: unknown) {
  const r = parseQuestion(raw);
  if (r.ok) throw new Error('expected a refusal');
  return r.issues;
}
function ok(raw: unknown): QuestionDefinition {
  const r = parseQuestion(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe('parseQuestion', () => {
  it('accepts one definition of every type and fills defaults', () => {
    for (const type of QUESTION_TYPES) expect(ok(RAW[type]).type).toBe(type);
    const sc = ok(RAW.SINGLE_CHOICE);
    expect(sc.points).toBe(1);
    expect(maxPoints(sc)).toBe(1);
    expect(maxPoints(ok(RAW.ESSAY))).toBe(10);
    expect(ok(RAW.SHORT_ANSWER)).toMatchObject({ caseSensitive: false });
    expect(ok({ type: 'NUMERIC', prompt: 'x', value: 1 })).toMatchObject({ tolerance: 0, unit: null });
    expect(ok({ type: 'ESSAY', prompt: 'x' })).toMatchObject({ minWords: null, maxWords: null, rubric: null });
  });

  it('trims the prompt and refuses a blank one, bad points and unknown fields', () => {
    expect(ok({ ...RAW.TRUE_FALSE, prompt: '  Hi  ' }).prompt).toBe('Hi');
    expect(issuesOf({ ...RAW.TRUE_FALSE, prompt: '   ' })[0]?.path).toBe('prompt');
    expect(issuesOf({ ...RAW.TRUE_FALSE, points: 0 })[0]?.path).toBe('points');
    expect(issuesOf({ ...RAW.TRUE_FALSE, points: 1001 })[0]?.path).toBe('points');
    expect(issuesOf({ ...RAW.TRUE_FALSE, answer: true }).length).toBeGreaterThan(0);
    expect(issuesOf({ ...RAW.TRUE_FALSE, type: 'POLL' }).length).toBeGreaterThan(0);
  });

  it('refuses a key that is not an option, with its path', () => {
    expect(issuesOf({ ...RAW.SINGLE_CHOICE, correct: 'z' })).toEqual([{ path: 'correct', message: "'z' is not an option id" }]);
    expect(issuesOf({ ...RAW.MULTIPLE_CHOICE, correct: ['a', 'z'] })).toEqual([
      { path: 'correct[1]', message: "'z' is not an option id" },
    ]);
    expect(issuesOf({ ...RAW.MULTIPLE_CHOICE, correct: [] })[0]?.path).toBe('correct');
  });

  it('refuses duplicate ids in every list', () => {
    const dupOptions = [
      { id: 'a', text: 'x' },
      { id: 'a', text: 'y' },
    ];
    expect(issuesOf({ ...RAW.SINGLE_CHOICE, options: dupOptions, correct: 'a' })[0]?.path).toBe('options[1].id');
    expect(issuesOf({ ...RAW.MULTIPLE_CHOICE, correct: ['a', 'a'] })[0]?.path).toBe('correct[1]');
    expect(issuesOf({ ...RAW.ORDERING, items: dupOptions })[0]?.path).toBe('items[1].id');
    expect(issuesOf({ ...RAW.SINGLE_CHOICE, options: [{ id: 'a b', text: 'x' }, RAW.SINGLE_CHOICE.options[1]] })[0]?.path).toBe(
      'options[0].id',
    );
  });

  it('checks option counts', () => {
    expect(issuesOf({ ...RAW.SINGLE_CHOICE, options: [{ id: 'b', text: 'x' }] })[0]?.path).toBe('options');
    const many = Array.from({ length: 27 }, (_, i) => ({ id: `o${i}`, text: `${i}` }));
    expect(issuesOf({ ...RAW.SINGLE_CHOICE, options: many, correct: 'o1' })[0]?.path).toBe('options');
  });

  it('checks the matching key: one pair per prompt, distinct options, existing ids', () => {
    const [fr, de] = RAW.MATCHING.pairs;
    expect(issuesOf({ ...RAW.MATCHING, pairs: [fr, de] })).toEqual([{ path: 'pairs', message: "prompt 'it' has no pair" }]);
    const twice = issuesOf({ ...RAW.MATCHING, pairs: [fr, de, { promptId: 'it', optionId: 'paris' }] });
    expect(twice).toEqual([{ path: 'pairs[2].optionId', message: "option 'paris' is paired twice" }]);
    const unknown = issuesOf({ ...RAW.MATCHING, pairs: [fr, de, { promptId: 'es', optionId: 'madrid' }] });
    expect(unknown.map((i) => i.path)).toEqual(['pairs[2].promptId', 'pairs']);
    const fewer = issuesOf({ ...RAW.MATCHING, options: RAW.MATCHING.options.slice(0, 2) });
    expect(fewer.map((i) => i.path)).toContain('options');
  });

  it('checks that gaps match blanks', () => {
    const b = RAW.FILL_IN_THE_BLANKS.blanks;
    expect(issuesOf({ ...RAW.FILL_IN_THE_BLANKS, blanks: [b[0]] })).toEqual([
      { path: 'blanks', message: 'has 1 entries but the text has 2 gaps' },
    ]);
    expect(issuesOf({ ...RAW.FILL_IN_THE_BLANKS, text: 'a {{1}} b {{3}}' }).map((i) => i.message)).toContain(
      'gap {{2}} is missing: gaps are numbered 1..n without holes',
    );
    expect(issuesOf({ ...RAW.FILL_IN_THE_BLANKS, text: 'a {{1}} b {{1}}' }).map((i) => i.message)).toContain(
      'gap {{1}} appears more than once',
    );
    expect(issuesOf({ ...RAW.FILL_IN_THE_BLANKS, text: 'no gaps' })[0]?.path).toBe('text');
    expect(issuesOf({ ...RAW.FILL_IN_THE_BLANKS, blanks: [b[0], { accepted: ['  '] }] })[0]?.path).toBe(
      'blanks[1].accepted[0]',
    );
  });

  it('checks short answers and numeric fields', () => {
    expect(issuesOf({ ...RAW.SHORT_ANSWER, accepted: [] })[0]?.path).toBe('accepted');
    expect(issuesOf({ ...RAW.SHORT_ANSWER, accepted: [' \t '] })[0]?.path).toBe('accepted[0]');
    expect(issuesOf({ ...RAW.NUMERIC, tolerance: -1 })[0]?.path).toBe('tolerance');
    expect(issuesOf({ ...RAW.NUMERIC, value: Infinity })[0]?.path).toBe('value');
    expect(issuesOf({ ...RAW.NUMERIC, unit: 'x'.repeat(21) })[0]?.path).toBe('unit');
  });

  it('checks essays: the rubric adds up to the points, word limits in order', () => {
    expect(issuesOf({ ...RAW.ESSAY, points: 12 })).toEqual([
      { path: 'rubric', message: "the criteria's highest levels add up to 10, not the question's 12 points" },
    ]);
    expect(issuesOf({ ...RAW.ESSAY, minWords: 900 })[0]?.path).toBe('minWords');
    expect(issuesOf({ ...RAW.ESSAY, minWords: 1.5 })[0]?.path).toBe('minWords');
    const [content, style] = RAW.ESSAY.rubric.criteria;
    const dup = { ...RAW.ESSAY, rubric: { criteria: [content, { ...style, id: 'content' }] } };
    expect(issuesOf(dup)[0]?.path).toBe('rubric.criteria[1].id');
    expect(ok({ ...RAW.ESSAY, points: 0.3, rubric: { criteria: [{ ...style, levels: [{ id: 'l', title: 'L', points: 0.1 + 0.2 }] }] } }).points).toBe(0.3);
  });
});
