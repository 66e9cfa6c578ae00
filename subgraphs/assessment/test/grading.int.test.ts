// Grading by people at the subgraph: essays with rubrics through the grading queue, overrides
// with reasons and their history (and who may see it), regrades whose dry run is what applying
// does, item statistics, and batched reads (a page of 100 attempts costs what a page of 1 does).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId, parseGlobalId } from '@lectern/kernel';
import { bank, call, choice, errorCode, idem, M, ok, organization, outbox, question, quiz, start, startHarness, type Data, type Harness, type Org } from './helpers.ts';

const uuidOf = (id: string) => parseGlobalId(id)!.keys[0]!;

let h: Harness;
let org: Org;
let bankId: string;

beforeAll(async () => {
  h = await startHarness('grading');
  org = await organization(h);
  bankId = await bank(h, org.instructor);
});
afterAll(async () => {
  await h?.close();
});

const ESSAY = {
  type: 'ESSAY',
  prompt: 'Explain recursion',
  points: 10,
  rubric: {
    criteria: [
      { id: 'clarity', title: 'Clarity', levels: [{ id: 'poor', title: 'Poor', points: 0 }, { id: 'good', title: 'Good', points: 4 }] },
      { id: 'depth', title: 'Depth', levels: [{ id: 'shallow', title: 'Shallow', points: 1 }, { id: 'deep', title: 'Deep', points: 6 }] },
    ],
  },
};

const QUEUE = `query($quizId: ID) { gradingQueue(quizId: $quizId, first: 10) { totalCount nodes { id status learner { id } } } }`;

async function submitted(who: Data, quizId: string, answers: Data[]): Promise<Data> {
  const attempt = await start(h, who, quizId);
  const r = await ok(h, who, M.submit, { input: { attemptId: attempt.id, answers, idempotencyKey: idem() } });
  expect(r.submitAttempt.errors).toEqual([]);
  return r.submitAttempt.attempt;
}

describe('essays', () => {
  it('wait in the grading queue of the learner\'s instructors, and a rubric grade completes the attempt', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q')), await question(h, org.instructor, bankId, ESSAY)], reviewMode: 'ANSWERS', passPercent: 50 });
    const attempt = await submitted(org.learner, quizId, [{ position: 1, choiceIds: ['a'] }, { position: 2, text: 'A function that calls itself.' }]);
    expect(attempt).toMatchObject({ status: 'SUBMITTED', score: null });
    const essayAt = attempt.questions.find((q: Data) => q.type === 'ESSAY').position;
    expect((await ok(h, org.instructor, QUEUE, { quizId })).gradingQueue.nodes.map((n: Data) => n.id)).toEqual([attempt.id]);
    expect((await ok(h, org.instructorB, QUEUE, { quizId })).gradingQueue.totalCount).toBe(0);
    expect((await ok(h, org.admin, QUEUE, { quizId })).gradingQueue.totalCount).toBe(1);

    // Another cohort's instructor cannot grade it: it does not exist for them.
    const foreign = await call(h, org.instructorB, M.gradeAnswer, { input: { attemptId: attempt.id, position: essayAt, score: 5, idempotencyKey: idem() } });
    expect(errorCode(foreign)).toBe('NOT_FOUND');
    // A plain score is refused for a rubric question; a selection per criterion is what counts.
    const plain = await call(h, org.instructor, M.gradeAnswer, { input: { attemptId: attempt.id, position: essayAt, score: 5, idempotencyKey: idem() } });
    expect(errorCode(plain)).toBe('BAD_USER_INPUT');
    const graded = await ok(h, org.instructor, M.gradeAnswer, {
      input: { attemptId: attempt.id, position: essayAt, rubric: [{ criterionId: 'clarity', levelId: 'good', comment: 'clear' }, { criterionId: 'depth', levelId: 'shallow' }], comment: 'Go deeper', idempotencyKey: idem() },
    });
    expect(graded.gradeAnswer.errors).toEqual([]);
    expect(graded.gradeAnswer.attempt).toMatchObject({ status: 'GRADED', score: 6 });
    expect((await ok(h, org.instructor, QUEUE, { quizId })).gradingQueue.totalCount).toBe(0);
    const passed = (await outbox(h, 'assessment.QuizPassed')).filter((r) => r.payload.attemptId === uuidOf(attempt.id));
    expect(passed.map((r) => r.payload.score)).toEqual([6 / 11]);
    const seen = await ok(h, org.learner, `query($id: ID!) { attempt(id: $id) { score questions { type grade { score comment rubric { criterionId levelId comment } } } } }`, { id: attempt.id });
    expect(seen.attempt.score).toBe(6);
    expect(seen.attempt.questions.find((q: Data) => q.type === 'ESSAY').grade).toMatchObject({ score: 5, comment: 'Go deeper', rubric: [{ criterionId: 'clarity', levelId: 'good', comment: 'clear' }, { criterionId: 'depth', levelId: 'shallow', comment: null }] });
  });
});

describe('overrides', () => {
  it('need a reason, are kept as history (who, when, from, to, why), which only graders see', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))] });
    const attempt = await submitted(org.learner2, quizId, [{ position: 1, choiceIds: ['b'] }]);
    const noReason = await ok(h, org.instructor, M.override, { input: { attemptId: attempt.id, score: 1, reason: '   ', idempotencyKey: idem() } });
    expect(noReason.overrideGrade.errors.map((e: Data) => e.code)).toEqual(['REASON_REQUIRED']);
    const r = await ok(h, org.instructor, M.override, { input: { attemptId: attempt.id, score: 0.5, reason: 'Partly right on appeal', idempotencyKey: idem() } });
    expect(r.overrideGrade.errors).toEqual([]);
    const r2 = await ok(h, org.admin, M.override, { input: { attemptId: attempt.id, score: null, reason: 'Appeal withdrawn', idempotencyKey: idem() } });
    const history = r2.overrideGrade.attempt.gradeHistory;
    expect(history.map((g: Data) => [g.kind, g.fromScore, g.toScore, g.reason])).toEqual([
      ['AUTO_GRADED', null, 0, null],
      ['OVERRIDDEN', 0, 0.5, 'Partly right on appeal'],
      ['OVERRIDDEN', 0.5, 0, 'Appeal withdrawn'],
    ]);
    expect(history[1].changedBy.id).toBe(globalId('User', org.instructor.userId!));
    expect(history[2].changedBy.id).toBe(globalId('User', org.admin.userId!));
    const read = `query($id: ID!) { attempt(id: $id) { id gradeHistory { kind } } }`;
    expect((await ok(h, org.admin, read, { id: attempt.id })).attempt.gradeHistory).toHaveLength(3);
    expect((await ok(h, org.learner2, read, { id: attempt.id })).attempt.gradeHistory).toEqual([]);
    for (const who of [org.learner, org.learnerB, org.instructorB]) expect((await ok(h, who, read, { id: attempt.id })).attempt).toBeNull();
    const other = await organization(h);
    expect((await ok(h, other.admin, read, { id: attempt.id })).attempt).toBeNull();
    expect(errorCode(await call(h, other.admin, M.override, { input: { attemptId: attempt.id, score: 1, reason: 'x', idempotencyKey: idem() } }))).toBe('NOT_FOUND');
  });
});

describe('regrade', () => {
  it('lists in a dry run exactly what applying it changes', async () => {
    const q = await question(h, org.instructor, bankId, choice('Which is right?', 'b'));
    const quizId = await quiz(h, org, { questionIds: [q, await question(h, org.instructor, bankId, choice('Other'))], passPercent: 100 });
    const a1 = await submitted(org.learner, quizId, [{ position: 1, choiceIds: ['a'] }, { position: 2, choiceIds: ['a'] }]);
    const a2 = await submitted(org.learnerB, quizId, [{ position: 1, choiceIds: ['b'] }, { position: 2, choiceIds: ['a'] }]);
    // The key was wrong: 'a' is right. A new version corrects it.
    const fixed = await ok(h, org.instructor, M.updateQuestion, { input: { questionId: q, question: choice('Which is right?', 'a'), idempotencyKey: idem() } });
    expect(fixed.updateQuestion.question.versions.map((v: Data) => v.number)).toEqual([1, 2]);
    const learnerTry = await call(h, org.instructor, M.regrade, { input: { questionId: q, dryRun: true, idempotencyKey: idem() } });
    expect(errorCode(learnerTry)).toBe('FORBIDDEN');
    const dry = await ok(h, org.admin, M.regrade, { input: { questionId: q, dryRun: true, idempotencyKey: idem() } });
    expect(dry.regradeQuestion.applied).toBe(false);
    const key = (c: Data) => `${c.attempt.id}:${c.oldScore}->${c.newScore}`;
    const planned = dry.regradeQuestion.changes.map(key).sort();
    const s1 = a1.score ?? (await ok(h, org.admin, `query($id: ID!) { attempt(id: $id) { score } }`, { id: a1.id })).attempt.score;
    expect(planned).toEqual([`${a1.id}:${s1}->${s1 + 1}`, `${a2.id}:${s1 + 1}->${s1}`].sort());
    // Nothing changed yet.
    expect((await ok(h, org.admin, `query($id: ID!) { attempt(id: $id) { score } }`, { id: a1.id })).attempt.score).toBe(s1);
    const applied = await ok(h, org.admin, M.regrade, { input: { questionId: q, dryRun: false, idempotencyKey: idem() } });
    expect(applied.regradeQuestion.applied).toBe(true);
    expect(applied.regradeQuestion.changes.map(key).sort()).toEqual(planned);
    expect(applied.regradeQuestion.changes.map((c: Data) => `${c.attempt.id}:${c.attempt.score}`).sort()).toEqual([`${a1.id}:${s1 + 1}`, `${a2.id}:${s1}`].sort());
    const history = await ok(h, org.admin, `query($id: ID!) { attempt(id: $id) { gradeHistory { kind position fromScore toScore } } }`, { id: a1.id });
    expect(history.attempt.gradeHistory.filter((g: Data) => g.kind === 'REGRADED')).toHaveLength(2);
    // Regraded once: a second run has nothing left to change.
    const again = await ok(h, org.admin, M.regrade, { input: { questionId: q, dryRun: true, idempotencyKey: idem() } });
    expect(again.regradeQuestion.changes).toEqual([]);
  });
});

describe('statistics and batched reads', () => {
  it('reports facility, discrimination and option counts over the caller\'s cohorts', async () => {
    const q = await question(h, org.instructor, bankId, choice('Stats'));
    const other = await question(h, org.instructor, bankId, choice('Other'));
    const quizId = await quiz(h, org, { questionIds: [q, other] });
    await submitted(org.learner, quizId, [{ position: 1, choiceIds: ['a'] }, { position: 2, choiceIds: ['a'] }]);
    await submitted(org.learner2, quizId, [{ position: 1, choiceIds: ['b'] }, { position: 2, choiceIds: ['b'] }]);
    await submitted(org.learnerB, quizId, [{ position: 1, choiceIds: ['a'] }, { position: 2, choiceIds: ['b'] }]);
    const read = `query($id: ID!) { quiz(id: $id) { statistics { attempts meanPercent medianPercent distribution { fromPercent count } items { questionVersion { prompt } statistics { attempts facility discrimination optionCounts { optionId count } } } } } }`;
    const admin = (await ok(h, org.admin, read, { id: quizId })).quiz.statistics;
    expect(admin).toMatchObject({ attempts: 3, meanPercent: 50, medianPercent: 50 });
    const item = admin.items.find((i: Data) => i.questionVersion.prompt === 'Stats').statistics;
    expect(item).toMatchObject({ attempts: 3, optionCounts: [{ optionId: 'a', count: 2 }, { optionId: 'b', count: 1 }, { optionId: 'c', count: 0 }] });
    expect(item.facility).toBeCloseTo(2 / 3);
    expect(item.discrimination).toBe(1);
    const teacher = (await ok(h, org.instructor, read, { id: quizId })).quiz.statistics;
    expect(teacher.attempts).toBe(2);
    expect((await ok(h, org.learner, read, { id: quizId })).quiz.statistics).toBeNull();
  });

  it('reads 100 attempts with their questions and grades in as many statements as 1', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('N+1'))], attemptsAllowed: 100 });
    await submitted(org.learner, quizId, [{ position: 1, choiceIds: ['a'] }]);
    const read = `query($id: ID!) { quiz(id: $id) { attempts(first: 100) { totalCount nodes { id score learner { id } quiz { id } gradeHistory { kind } questions { prompt options { id } answer { choiceIds } grade { score key { choiceIds } } questionVersion { number } } } } } }`;
    const cost = async () => {
      const before = h.subgraph.deps.stats.statements;
      const r = await ok(h, org.admin, read, { id: quizId });
      return { n: h.subgraph.deps.stats.statements - before, attempts: r.quiz.attempts.nodes.length };
    };
    const one = await cost();
    expect(one.attempts).toBe(1);
    // 99 more graded attempts like the first (written straight to the tables: this is about reads).
    await h.admin.query(
      `insert into assessment.attempts (id, tenant_id, quiz_id, learner_id, enrollment_id, number, status, seed, started_at, submitted_at, graded_at, score, max_score)
       select gen_random_uuid(), a.tenant_id, a.quiz_id, a.learner_id, a.enrollment_id, a.number + g, a.status, a.seed, a.started_at, a.submitted_at, a.graded_at, a.score, a.max_score
         from assessment.attempts a, generate_series(1, 99) g where a.quiz_id = $1`,
      [uuidOf(quizId)],
    );
    await h.admin.query(
      `insert into assessment.attempt_items (tenant_id, attempt_id, position, question_id, version_id, answer, score, max_score, graded_version_id)
       select i.tenant_id, a.id, i.position, i.question_id, i.version_id, i.answer, i.score, i.max_score, i.graded_version_id
         from assessment.attempts a join assessment.attempt_items i on i.tenant_id = a.tenant_id and i.attempt_id <> a.id
        where a.quiz_id = $1 and a.number > 1 and i.attempt_id = (select id from assessment.attempts where quiz_id = $1 and number = 1)`,
      [uuidOf(quizId)],
    );
    const many = await cost();
    expect(many.attempts).toBe(100);
    expect(many.n).toBe(one.n);
  });
});
