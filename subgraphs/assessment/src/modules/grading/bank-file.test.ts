// The bank import/export file: round trip, issue paths, and the published JSON Schema in step
// with the zod schema (regenerate docs/bank-format.schema.json from bankFileJsonSchema()).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BANK_FILE_FORMAT, bankFileJsonSchema, normaliseTag, parseBankFile } from './bank-file.ts';
import { RAW } from './test-fixtures.ts';

const SCHEMA_FILE = new URL('../../../docs/bank-format.schema.json', import.meta.url);

interface FileQuestion {
  ref?: string;
  tags: string[];
  question: unknown;
}
const file = () => ({
  format: BANK_FILE_FORMAT,
  version: 1,
  bank: { name: 'Physics 101', description: null },
  questions: Object.values(RAW).map(
    (question, i): FileQuestion => ({ ref: `q${i}`, tags: ['Unit 1', ' unit  1 ', 'Mechanics'], question }),
  ),
});

describe('bank file', () => {
  it('round-trips: parse, serialise, parse again gives the same value', () => {
    const first = parseBankFile(file());
    if (!first.ok) throw new Error(JSON.stringify(first.issues));
    expect(first.value.questions).toHaveLength(9);
    expect(first.value.questions[0]?.tags).toEqual(['unit-1', 'mechanics']);
    expect(first.value.questions[0]?.question.points).toBe(1);
    const second = parseBankFile(JSON.parse(JSON.stringify(first.value)));
    expect(second).toEqual(first);
  });

  it('reports issues with paths into the file', () => {
    const bad = file();
    bad.questions[3] = { ...bad.questions[3]!, question: { ...RAW.SINGLE_CHOICE, options: [{ id: 'b', text: 'x' }, { id: 'no way', text: 'y' }] } };
    bad.questions[4] = { ...bad.questions[4]!, ref: 'q0' };
    const r = parseBankFile(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(['questions[3].question.options[1].id', 'questions[4].ref']);
    expect(r.issues[1]?.message).toBe("duplicate ref 'q0'");
  });

  it('refuses another format or version and caps the issues at 50', () => {
    expect(parseBankFile({ ...file(), format: 'moodle-xml' })).toMatchObject({ ok: false, issues: [{ path: 'format' }] });
    expect(parseBankFile({ ...file(), version: 2 })).toMatchObject({ ok: false, issues: [{ path: 'version' }] });
    const many = { ...file(), questions: Array.from({ length: 80 }, () => ({ tags: [], question: { type: 'TRUE_FALSE' } })) };
    const r = parseBankFile(many);
    expect(r.ok ? 0 : r.issues.length).toBe(50);
  });

  it('normalises tags', () => {
    expect(normaliseTag('  Unit 3 \t Algebra ')).toBe('unit-3-algebra');
    expect(parseBankFile({ ...file(), questions: [{ tags: ['   '], question: RAW.TRUE_FALSE }] })).toMatchObject({
      ok: false,
      issues: [{ path: 'questions[0].tags[0]' }],
    });
  });

  it('accepts the example of docs/bank-format.md', () => {
    const doc = readFileSync(new URL('../../../docs/bank-format.md', import.meta.url), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/u.exec(doc)?.[1];
    const r = parseBankFile(JSON.parse(example ?? 'null'));
    expect(r.ok ? r.value.questions.map((q) => q.question.type) : r.issues).toEqual([
      'SINGLE_CHOICE',
      'MULTIPLE_CHOICE',
      'TRUE_FALSE',
      'SHORT_ANSWER',
      'NUMERIC',
      'MATCHING',
      'ORDERING',
      'FILL_IN_THE_BLANKS',
      'ESSAY',
    ]);
  });

  it('matches the committed JSON Schema (docs/bank-format.schema.json)', () => {
    const committed: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(bankFileJsonSchema()).toEqual(committed);
  });
});
