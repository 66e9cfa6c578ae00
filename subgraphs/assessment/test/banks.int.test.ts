// Question banks at the subgraph: import (all or nothing, every problem named by its path) and
// export in the documented format, versions on edit, and banks private to their organization's
// instructors and admins.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bank, call, choice, errorCode, idem, M, ok, organization, question, startHarness, type Data, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;

beforeAll(async () => {
  h = await startHarness('banks');
  org = await organization(h);
});
afterAll(async () => {
  await h?.close();
});

/** The example of docs/bank-format.md: one question of every type. */
function exampleDocument(): string {
  const md = readFileSync(new URL('../docs/bank-format.md', import.meta.url), 'utf8');
  return /```json\n([\s\S]*?)\n```/u.exec(md)![1]!;
}

describe('import and export', () => {
  it('imports the documented example and exports what it imported', async () => {
    const doc = JSON.parse(exampleDocument());
    const r = await ok(h, org.instructor, M.importBank, { input: { document: JSON.stringify(doc), idempotencyKey: idem() } });
    expect(r.importQuestionBank.errors).toEqual([]);
    const imported = r.importQuestionBank.bank;
    expect(imported.questions.totalCount).toBe(doc.questions.length);
    expect(new Set(imported.questions.nodes.map((q: Data) => q.type)).size).toBe(9);
    const exported = await ok(h, org.instructor, `query($r: [_Any!]!) { _entities(representations: $r) { ... on QuestionBank { exportDocument } } }`, {
      r: [{ __typename: 'QuestionBank', id: imported.id }],
    });
    const back = JSON.parse(exported._entities[0].exportDocument);
    expect(back.bank.name).toBe(doc.bank.name);
    expect(back.questions.map((q: Data) => q.question.prompt)).toEqual(doc.questions.map((q: Data) => q.question.prompt));
    // Round trip: importing the export gives the same questions again.
    const again = await ok(h, org.instructor, M.importBank, { input: { document: JSON.stringify(back), idempotencyKey: idem() } });
    expect(again.importQuestionBank.bank.questions.totalCount).toBe(doc.questions.length);
  });

  it('refuses a document with problems as a whole, naming each by its path', async () => {
    const doc = JSON.parse(exampleDocument());
    doc.questions[0].question.correct = 'nope';
    doc.questions[2].question.prompt = '';
    const before = (await ok(h, org.admin, `{ questionBanks { totalCount } }`)).questionBanks.totalCount;
    const r = await ok(h, org.admin, M.importBank, { input: { document: JSON.stringify(doc), idempotencyKey: idem() } });
    expect(r.importQuestionBank.bank).toBeNull();
    expect(r.importQuestionBank.errors.map((e: Data) => e.code)).toEqual(['INVALID_BANK_DOCUMENT', 'INVALID_BANK_DOCUMENT']);
    expect(r.importQuestionBank.errors.map((e: Data) => e.path.join('.'))).toEqual(['input.document.questions[0].question.correct', 'input.document.questions[2].question.prompt']);
    const notJson = await ok(h, org.admin, M.importBank, { input: { document: '{oops', idempotencyKey: idem() } });
    expect(notJson.importQuestionBank.errors[0]).toMatchObject({ code: 'INVALID_BANK_DOCUMENT', path: ['input', 'document'] });
    expect((await ok(h, org.admin, `{ questionBanks { totalCount } }`)).questionBanks.totalCount).toBe(before);
  });
});

describe('questions', () => {
  it('keep every version; an edit that changes nothing is not a new version; the type never changes', async () => {
    const bankId = await bank(h, org.instructor);
    const id = await question(h, org.instructor, bankId, choice('Q', 'a'), ['Unit 1']);
    const same = await ok(h, org.instructor, M.updateQuestion, { input: { questionId: id, question: choice('Q', 'a'), tags: ['Unit 1', ' unit 2 '], idempotencyKey: idem() } });
    expect(same.updateQuestion.question).toMatchObject({ tags: ['unit-1', 'unit-2'], versions: [{ number: 1 }] });
    const edited = await ok(h, org.instructor, M.updateQuestion, { input: { questionId: id, question: choice('Q', 'b'), idempotencyKey: idem() } });
    expect(edited.updateQuestion.question.currentVersion).toMatchObject({ number: 2, correctOptionIds: ['b'] });
    const retyped = await ok(h, org.instructor, M.updateQuestion, { input: { questionId: id, question: { type: 'TRUE_FALSE', prompt: 'Q', correctBoolean: true }, idempotencyKey: idem() } });
    expect(retyped.updateQuestion.errors[0]).toMatchObject({ code: 'INVALID_QUESTION', path: ['input', 'question', 'type'] });
  });

  it('refuses a question that does not fit its type, naming the field', async () => {
    const bankId = await bank(h, org.instructor);
    const r = await ok(h, org.instructor, M.createQuestion, {
      input: { bankId, question: { type: 'SINGLE_CHOICE', prompt: 'Q', options: [{ id: 'a', text: 'A' }, { id: 'a', text: 'B' }], correctOptionIds: ['z'], acceptedAnswers: ['x'] }, idempotencyKey: idem() },
    });
    expect(r.createQuestion.errors).toEqual([{ code: 'INVALID_QUESTION', message: expect.stringContaining('acceptedAnswers'), path: ['input', 'question', 'acceptedAnswers'] }]);
    const r2 = await ok(h, org.instructor, M.createQuestion, {
      input: { bankId, question: { type: 'SINGLE_CHOICE', prompt: 'Q', options: [{ id: 'a', text: 'A' }, { id: 'a', text: 'B' }], correctOptionIds: ['z'] }, idempotencyKey: idem() },
    });
    expect(r2.createQuestion.errors.map((e: Data) => e.path.join('.')).sort()).toEqual(['input.question.correctOptionIds', 'input.question.options[1].id']);
  });
});

describe('who sees banks', () => {
  it('is the organization\'s instructors and admins; learners are refused, other organizations see nothing', async () => {
    const bankId = await bank(h, org.instructor, 'Private');
    const read = `query($r: [_Any!]!) { _entities(representations: $r) { ... on QuestionBank { id name } } }`;
    expect((await ok(h, org.admin, read, { r: [{ __typename: 'QuestionBank', id: bankId }] }))._entities[0].name).toBe('Private');
    expect((await ok(h, org.learner, read, { r: [{ __typename: 'QuestionBank', id: bankId }] }))._entities[0]).toBeNull();
    expect(errorCode(await call(h, org.learner, `{ questionBanks { totalCount } }`))).toBe('FORBIDDEN');
    expect(errorCode(await call(h, org.learner, M.createBank, { input: { name: 'Mine', idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    const other = await organization(h);
    expect((await ok(h, other.admin, read, { r: [{ __typename: 'QuestionBank', id: bankId }] }))._entities[0]).toBeNull();
    expect(errorCode(await call(h, other.admin, M.createQuestion, { input: { bankId, question: choice('Q'), idempotencyKey: idem() } }))).toBe('NOT_FOUND');
  });
});
