// Taking quizzes at the subgraph: every question type graded through the API, the attempt
// limit under concurrent starts, deadlines by the server's clock (saves refused after them,
// accommodations moving them at once), and what a learner may see before and after review.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId, parseGlobalId } from '@lectern/kernel';
import { bank, call, choice, errorCode, idem, M, ok, organization, outbox, question, quiz, start, startHarness, gid, type Data, type Harness, type Org } from './helpers.ts';

const globalIdToUuid = (id: string) => parseGlobalId(id)!.keys[0]!;

let h: Harness;
let org: Org;
let bankId: string;

beforeAll(async () => {
  h = await startHarness('attempts');
  org = await organization(h);
  bankId = await bank(h, org.instructor);
});
afterAll(async () => {
  await h?.close();
});

/** One question of every type with the answer that scores it fully. */
const EVERY_TYPE: { q: Record<string, unknown>; right: Record<string, unknown>; wrong: Record<string, unknown> }[] = [
  { q: choice('Pick a'), right: { choiceIds: ['a'] }, wrong: { choiceIds: ['b'] } },
  {
    q: { type: 'MULTIPLE_CHOICE', prompt: 'Primes', points: 2, options: [{ id: 'p2', text: '2' }, { id: 'p3', text: '3' }, { id: 'n4', text: '4' }, { id: 'n6', text: '6' }], correctOptionIds: ['p2', 'p3'] },
    right: { choiceIds: ['p2', 'p3'] },
    wrong: { choiceIds: ['n4', 'n6'] },
  },
  { q: { type: 'TRUE_FALSE', prompt: 'The sky is blue', correctBoolean: true }, right: { boolean: true }, wrong: { boolean: false } },
  { q: { type: 'SHORT_ANSWER', prompt: 'Capital of France', acceptedAnswers: ['Paris'] }, right: { text: '  paris ' }, wrong: { text: 'Lyon' } },
  { q: { type: 'NUMERIC', prompt: 'g', value: 9.81, tolerance: 0.05, unit: 'm/s²' }, right: { number: 9.8, unit: 'm/s²' }, wrong: { number: 9.81, unit: 'km/h' } },
  {
    q: { type: 'MATCHING', prompt: 'Match', prompts: [{ id: 'fr', text: 'France' }, { id: 'de', text: 'Germany' }], options: [{ id: 'par', text: 'Paris' }, { id: 'ber', text: 'Berlin' }, { id: 'rom', text: 'Rome' }], pairs: [{ promptId: 'fr', optionId: 'par' }, { promptId: 'de', optionId: 'ber' }] },
    right: { pairs: [{ promptId: 'fr', optionId: 'par' }, { promptId: 'de', optionId: 'ber' }] },
    wrong: { pairs: [{ promptId: 'fr', optionId: 'rom' }] },
  },
  { q: { type: 'ORDERING', prompt: 'Order', items: [{ id: 'one', text: '1' }, { id: 'two', text: '2' }, { id: 'three', text: '3' }] }, right: { order: ['one', 'two', 'three'] }, wrong: { order: ['three', 'one', 'two'] } },
  {
    q: { type: 'FILL_IN_THE_BLANKS', prompt: 'Fill', text: '{{1}} is the capital of {{2}}', blanks: [{ accepted: ['Rome'] }, { accepted: ['Italy'] }] },
    right: { blanks: ['rome', 'ITALY'] },
    wrong: { blanks: ['Milan', 'France'] },
  },
];

describe('every question type through the API', () => {
  it('grades right answers fully and wrong ones to 0, and shows the learner only what review allows', async () => {
    const ids: string[] = [];
    for (const t of EVERY_TYPE) ids.push(await question(h, org.instructor, bankId, t.q));
    const quizId = await quiz(h, org, { questionIds: ids, reviewMode: 'ANSWERS', attemptsAllowed: 2 });
    for (const [pass, key] of [[true, 'right'], [false, 'wrong']] as const) {
      const attempt = await start(h, org.learner, quizId);
      // Before submission: the learner gets the questions, never a key or a grade.
      expect(JSON.stringify(attempt)).not.toMatch(/"key":\{/);
      expect(attempt.questions.every((q: Data) => q.grade === null)).toBe(true);
      const byPrompt = new Map(EVERY_TYPE.map((t) => [t.q.prompt, t]));
      const answers = attempt.questions.map((q: Data) => ({ position: q.position, ...byPrompt.get(q.prompt)![key] }));
      const r = await ok(h, org.learner, M.submit, { input: { attemptId: attempt.id, answers, idempotencyKey: idem() } });
      expect(r.submitAttempt.errors).toEqual([]);
      const done = r.submitAttempt.attempt;
      expect(done.status).toBe('GRADED');
      expect(done.maxScore).toBe(9);
      expect(done.score).toBe(pass ? 9 : 0);
      expect(done.passed).toBe(pass);
      for (const q of done.questions) {
        expect(q.grade.correct).toBe(pass);
        expect(q.grade.key).not.toBeNull();
      }
    }
  });

  it('refuses an answer that does not fit its question, naming it, and saves nothing of the request', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))] });
    const attempt = await start(h, org.learner2, quizId);
    const r = await ok(h, org.learner2, M.save, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['zz'] }, { position: 7, boolean: true }], idempotencyKey: idem() } });
    expect(r.saveAnswers.errors.map((e: Data) => e.code)).toEqual(['INVALID_ANSWER', 'NO_SUCH_POSITION']);
    expect(r.saveAnswers.errors[0].path).toEqual(['input', 'answers', '0', 'choiceIds']);
    expect(r.saveAnswers.attempt.questions[0].answer).toBeNull();
  });
});

describe('the attempt limit', () => {
  it('holds exactly under 50 concurrent starts by one learner with 3 attempts allowed', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))], attemptsAllowed: 3 });
    const results = await Promise.all(Array.from({ length: 50 }, () => call(h, org.learnerB, M.start, { input: { quizId, idempotencyKey: idem() } })));
    const started = results.filter((r) => r.data?.startAttempt.attempt);
    const limited = results.filter((r) => r.data?.startAttempt.errors[0]?.code === 'ATTEMPT_LIMIT_REACHED');
    // A concurrent start that collided may answer CONFLICT (retryable); none may start a 4th.
    expect(started).toHaveLength(3);
    expect(limited.length + results.filter((r) => errorCode(r) === 'CONFLICT').length).toBe(47);
    expect(started.map((r) => r.data!.startAttempt.attempt.number).sort()).toEqual([1, 2, 3]);
    const { rows } = await h.admin.query('select count(*)::int as n from assessment.attempts where quiz_id = $1', [globalIdToUuid(quizId)]);
    expect(rows[0].n).toBe(3);
  });

  it('counts an accommodation\'s extra attempts', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))], attemptsAllowed: 1 });
    await start(h, org.learner2, quizId);
    const again = await ok(h, org.learner2, M.start, { input: { quizId, idempotencyKey: idem() } });
    expect(again.startAttempt.errors[0].code).toBe('ATTEMPT_LIMIT_REACHED');
    const acc = await ok(h, org.instructor, M.accommodate, { input: { learnerId: gid.user(org.learner2.userId!), quizId, extraAttempts: 1, idempotencyKey: idem() } });
    expect(acc.setAccommodation.errors).toEqual([]);
    expect((await start(h, org.learner2, quizId)).number).toBe(2);
  });
});


describe('deadlines by the server clock', () => {
  it('refuses a save 1 ms after the deadline and accepts one before it', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))], timeLimitMinutes: 10 });
    const attempt = await start(h, org.learner, quizId);
    expect(new Date(attempt.deadline).getTime() - new Date(attempt.startedAt).getTime()).toBe(600_000);
    const save = (choiceId: string) => ok(h, org.learner, M.save, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: [choiceId] }], idempotencyKey: idem() } });
    expect((await save('a')).saveAnswers.errors).toEqual([]);
    // The deadline is now 1 ms ago on the database's clock.
    await h.admin.query(`update assessment.attempts set deadline = clock_timestamp() - interval '1 millisecond' where id = $1`, [globalIdToUuid(attempt.id)]);
    const late = await save('b');
    expect(late.saveAnswers.errors.map((e: Data) => e.code)).toEqual(['DEADLINE_PASSED']);
    expect(late.saveAnswers.attempt.questions[0].answer.choiceIds).toEqual(['a']);
    // Submitting after the deadline keeps what was saved by then.
    const sub = await ok(h, org.learner, M.submit, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['b'] }], idempotencyKey: idem() } });
    expect(sub.submitAttempt.errors.map((e: Data) => e.code)).toEqual(['DEADLINE_PASSED']);
    expect(sub.submitAttempt.attempt).toMatchObject({ status: 'GRADED', autoSubmitted: true, score: 1 });
  });

  it('moves an open attempt\'s deadline when an accommodation changes, and the next save sees it', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))], timeLimitMinutes: 30 });
    const attempt = await start(h, org.learnerB, quizId);
    const before = new Date(attempt.deadline).getTime();
    const acc = await ok(h, org.instructorB, M.accommodate, { input: { learnerId: gid.user(org.learnerB.userId!), courseId: gid.course(org.courseId), timeMultiplier: 1.5, idempotencyKey: idem() } });
    expect(acc.setAccommodation.errors).toEqual([]);
    expect(acc.setAccommodation.movedAttempts.map((a: Data) => a.id)).toEqual([attempt.id]);
    const moved = new Date(acc.setAccommodation.movedAttempts[0].deadline).getTime();
    expect(moved - before).toBe(15 * 60_000);
    // Past the old deadline (by the database's clock), the save is accepted under the new one.
    await h.admin.query(`update assessment.attempts set started_at = started_at - interval '31 minutes', deadline = deadline - interval '31 minutes' where id = $1`, [globalIdToUuid(attempt.id)]);
    const save = await ok(h, org.learnerB, M.save, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    expect(save.saveAnswers.errors).toEqual([]);
    expect(new Date(save.saveAnswers.attempt.deadline).getTime()).toBe(moved - 31 * 60_000);
  });

  it('lets only an instructor of the learner\'s cohort (or ORG_ADMIN) set an accommodation', async () => {
    const r = await call(h, org.instructorB, M.accommodate, { input: { learnerId: gid.user(org.learner.userId!), courseId: gid.course(org.courseId), extraAttempts: 5, idempotencyKey: idem() } });
    expect(errorCode(r)).toBe('FORBIDDEN');
    const unknown = await ok(h, org.admin, M.accommodate, { input: { learnerId: gid.user(org.learner.userId!), courseId: gid.course(randomUUID()), idempotencyKey: idem() } });
    expect(unknown.setAccommodation.errors[0].code).toBe('COURSE_NOT_FOUND');
  });
});

describe('who sees an attempt', () => {
  it('is its learner, their instructors and ORG_ADMIN; anyone else is told it does not exist', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))] });
    const attempt = await start(h, org.learner, quizId);
    const read = (who: Parameters<typeof call>[1]) => call(h, who, `query($id: ID!) { attempt(id: $id) { id } }`, { id: attempt.id });
    for (const who of [org.learner, org.instructor, org.admin]) expect((await read(who)).data?.attempt?.id).toBe(attempt.id);
    for (const who of [org.learner2, org.instructorB, org.outsider]) expect((await read(who)).data?.attempt).toBeNull();
    const other = await organization(h);
    expect((await read(other.admin)).data?.attempt).toBeNull();
    const save = await call(h, org.learner2, M.save, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    expect(errorCode(save)).toBe('NOT_FOUND');
    const fake = await call(h, org.learner, M.save, { input: { attemptId: globalId('Attempt', randomUUID()), answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    expect(fake.errors?.[0]?.message).toBe(save.errors?.[0]?.message);
  });

  it('hides a quiz from learners until it is published, and from learners of other courses', async () => {
    const quizId = await quiz(h, org, { published: false, questionIds: [await question(h, org.instructor, bankId, choice('Q'))] });
    const read = (who: Parameters<typeof call>[1]) => call(h, who, `query($id: ID!) { quiz(id: $id) { id } }`, { id: quizId });
    expect((await read(org.learner)).data?.quiz).toBeNull();
    expect((await read(org.instructor)).data?.quiz?.id).toBe(quizId);
    expect(errorCode(await call(h, org.learner, M.start, { input: { quizId, idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    await ok(h, org.instructor, M.updateQuiz, { input: { quizId, published: true, idempotencyKey: idem() } });
    expect((await read(org.learner)).data?.quiz?.id).toBe(quizId);
    expect((await read(org.outsider)).data?.quiz).toBeNull();
  });

  it('never sends the key to a learner whose quiz shows scores only, and emits QuizPassed / QuizFailed', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))], reviewMode: 'SCORE_ONLY', passPercent: 100, attemptsAllowed: 2 });
    const first = await start(h, org.learner2, quizId);
    const failed = await ok(h, org.learner2, M.submit, { input: { attemptId: first.id, answers: [{ position: 1, choiceIds: ['c'] }], idempotencyKey: idem() } });
    expect(failed.submitAttempt.attempt).toMatchObject({ score: 0, passed: false });
    expect(failed.submitAttempt.attempt.questions[0].grade).toBeNull();
    const second = await start(h, org.learner2, quizId);
    await ok(h, org.learner2, M.submit, { input: { attemptId: second.id, answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    const uuid = globalIdToUuid(quizId);
    expect((await outbox(h, 'assessment.QuizFailed')).filter((r) => r.payload.quizId === uuid).map((r) => r.payload.attemptsLeft)).toEqual([1]);
    expect((await outbox(h, 'assessment.QuizPassed')).filter((r) => r.payload.quizId === uuid).map((r) => r.payload.score)).toEqual([1]);
    // Submitting again is submitting once.
    await ok(h, org.learner2, M.submit, { input: { attemptId: second.id, idempotencyKey: idem() } });
    expect((await outbox(h, 'assessment.AttemptSubmitted')).filter((r) => r.payload.quizId === uuid)).toHaveLength(2);
  });
});
