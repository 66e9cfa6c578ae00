// Reading a learner's raw answer against the question: shapes, ids, duplicates, stray fields.
import { describe, expect, it } from 'vitest';
import { answerSchema, parseAnswer, type RawAnswer } from './answer.ts';
import { parseQuestion, type QuestionDefinition, type QuestionType } from './question.ts';
import { RAW } from './test-fixtures.ts';

function def(type: QuestionType): QuestionDefinition {
  const r = parseQuestion(RAW[type]);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}
function refusal(type: QuestionType, raw: RawAnswer) {
  const r = parseAnswer(def(type), raw);
  if (r.ok) throw new Error('expected a refusal');
  return { field: r.field, message: r.message };
}

describe('parseAnswer', () => {
  it('reads the field of each type', () => {
    expect(parseAnswer(def('SINGLE_CHOICE'), { choiceIds: ['b'] })).toEqual({ ok: true, value: { type: 'SINGLE_CHOICE', choiceId: 'b' } });
    expect(parseAnswer(def('MULTIPLE_CHOICE'), { choiceIds: [] })).toEqual({ ok: true, value: { type: 'MULTIPLE_CHOICE', choiceIds: [] } });
    expect(parseAnswer(def('TRUE_FALSE'), { boolean: false, text: null })).toEqual({ ok: true, value: { type: 'TRUE_FALSE', value: false } });
    expect(parseAnswer(def('NUMERIC'), { number: 9.8 })).toEqual({ ok: true, value: { type: 'NUMERIC', value: 9.8, unit: null } });
    expect(parseAnswer(def('NUMERIC'), { number: 9.8, unit: ' m/s² ' })).toEqual({
      ok: true,
      value: { type: 'NUMERIC', value: 9.8, unit: 'm/s²' },
    });
    expect(parseAnswer(def('MATCHING'), { pairs: [{ promptId: 'fr', optionId: 'madrid' }] }).ok).toBe(true);
    expect(parseAnswer(def('ORDERING'), { order: ['body', 'organ', 'cell', 'atom'] }).ok).toBe(true);
    expect(parseAnswer(def('FILL_IN_THE_BLANKS'), { blanks: ['', 'cell'] }).ok).toBe(true);
    expect(parseAnswer(def('ESSAY'), { text: 'x'.repeat(100_000) }).ok).toBe(true);
  });

  it('names the field in readable refusals', () => {
    expect(refusal('SINGLE_CHOICE', { choiceIds: ['z'] })).toEqual({
      field: 'choiceIds',
      message: "choiceIds: option 'z' is not an option of this question",
    });
    expect(refusal('SINGLE_CHOICE', { choiceIds: ['a', 'b'] }).message).toBe('choiceIds: exactly one option must be chosen (got 2)');
    expect(refusal('SINGLE_CHOICE', {})).toEqual({ field: 'choiceIds', message: 'choiceIds: required for a single-choice question' });
    expect(refusal('TRUE_FALSE', { boolean: true, choiceIds: ['a'] })).toEqual({
      field: 'choiceIds',
      message: 'choiceIds: not expected for a true/false question',
    });
  });

  it('refuses duplicate ids in answers', () => {
    expect(refusal('MULTIPLE_CHOICE', { choiceIds: ['a', 'a'] }).message).toBe("choiceIds: option 'a' is given twice");
    expect(refusal('MATCHING', { pairs: [{ promptId: 'fr', optionId: 'paris' }, { promptId: 'fr', optionId: 'rome' }] }).message).toBe(
      "pairs: prompt 'fr' is paired more than once",
    );
    expect(refusal('ORDERING', { order: ['atom', 'atom', 'cell', 'body'] }).message).toBe("order: item 'atom' is given twice");
  });

  it('checks ids, permutations, lengths and limits', () => {
    expect(refusal('MULTIPLE_CHOICE', { choiceIds: ['z'] }).field).toBe('choiceIds');
    expect(refusal('MATCHING', { pairs: [{ promptId: 'xx', optionId: 'paris' }] }).message).toBe("pairs: prompt 'xx' is not a prompt of this question");
    expect(refusal('MATCHING', { pairs: [{ promptId: 'fr', optionId: 'oslo' }] }).message).toBe("pairs: option 'oslo' is not an option of this question");
    expect(refusal('ORDERING', { order: ['atom', 'cell', 'organ'] }).message).toBe('order: must list all 4 items exactly once (got 3)');
    expect(refusal('ORDERING', { order: ['atom', 'cell', 'organ', 'x'] }).message).toBe("order: item 'x' is not an item of this question");
    expect(refusal('FILL_IN_THE_BLANKS', { blanks: ['a'] }).message).toBe('blanks: must have one entry per gap: 2 expected, got 1');
    expect(refusal('SHORT_ANSWER', { text: 'x'.repeat(20_001) }).field).toBe('text');
    expect(refusal('ESSAY', { text: 'x'.repeat(100_001) }).field).toBe('text');
    expect(refusal('NUMERIC', { number: Number.NaN }).field).toBe('number');
    expect(refusal('NUMERIC', { number: 1, text: 'one' }).field).toBe('text');
  });

  it('stores answers that read back through answerSchema', () => {
    const r = parseAnswer(def('MATCHING'), { pairs: [{ promptId: 'fr', optionId: 'paris' }] });
    if (!r.ok) throw new Error(r.message);
    expect(answerSchema.parse(JSON.parse(JSON.stringify(r.value)))).toEqual(r.value);
    expect(answerSchema.safeParse({ type: 'TRUE_FALSE', value: 'yes' }).success).toBe(false);
    expect(answerSchema.safeParse({ type: 'TRUE_FALSE', value: true, extra: 1 }).success).toBe(false);
  });
});
