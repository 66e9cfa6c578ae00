// Taking a quiz: startAttempt (the server draws the questions from a stored seed and fixes the
// deadline by its own clock), saveAnswers (autosave; refused once the deadline has passed by
// the database's clock) and submitAttempt (graded at once; two submits are one). Only the
// attempt's learner may do any of it; to anyone else the attempt does not exist.
import { randomUUID } from 'node:crypto';
import { badInput, inputId, notFound } from '@lectern/kernel';
import { requirePerson } from '../../access.ts';
import { assessmentError, type AssessmentError, type MutationResult } from '../../errors.ts';
import { runMutation, type Idempotent, type ServiceDeps } from '../../mutation.ts';
import { parseAnswer, type Answer, type RawAnswer } from '../grading/answer.ts';
import { drawQuestions } from '../grading/draw.ts';
import { maxPoints } from '../grading/question.ts';
import { newSeed } from '../grading/random.ts';
import { countAttempt, currentVersions, drawCandidates, insertAttempt, lockAttempt, quizForStart, saveAnswersIfOpen, saveItemAnswers } from './attempt.store.ts';
import type { ShownAttempt } from './item-cache.ts';
import { submitAndGrade } from './finalize.ts';
import type { EntityManager } from '@mikro-orm/postgresql';

export interface StartAttemptInput extends Idempotent {
  quizId: string;
}
export type AnswerInput = RawAnswer & { position: number };
export interface SaveAnswersInput extends Idempotent {
  attemptId: string;
  answers: AnswerInput[];
}
export interface SubmitAttemptInput extends Idempotent {
  attemptId: string;
  answers?: AnswerInput[] | null;
}

const MAX_ANSWERS = 200;

export class AttemptService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async startAttempt(input: StartAttemptInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requirePerson(actor);
    const quizId = inputId(input.quizId, 'Quiz', 'quizId');
    return runMutation({ ...this.#deps, actor }, 'startAttempt', input, async (em, tenantId, after) => {
      const found = await quizForStart(em, tenantId, quizId, actor.userId);
      // A quiz the caller may not see does not exist for them (access.ts).
      if (!found || (!this.#deps.viewer.author && (!found.quiz.published || !found.enrollmentId))) throw notFound('Quiz');
      const { quiz, now } = found;
      if (!quiz.published) return { errors: [assessmentError('QUIZ_NOT_PUBLISHED', 'The quiz is not published yet')] };
      if (!found.enrollmentId) return { errors: [assessmentError('NOT_ENROLLED', 'Only learners enrolled in the course can take its quizzes')] };
      if (quiz.opensAt && now < quiz.opensAt) return { errors: [assessmentError('QUIZ_NOT_OPEN', `The quiz opens at ${quiz.opensAt.toISOString()}`)] };
      const closes = quiz.closesAt ? new Date(quiz.closesAt.getTime() + found.extensionSeconds * 1000) : null;
      if (closes && now >= closes) return { errors: [assessmentError('QUIZ_CLOSED', `The quiz closed at ${closes.toISOString()}`)] };

      const items = await drawItems(em, tenantId, quizId, quiz.shuffleQuestions);
      if (!items.ids.length) return { errors: [assessmentError('QUIZ_HAS_NO_QUESTIONS', 'The quiz has no questions to show')] };
      const limit = quiz.attemptsAllowed === null ? null : quiz.attemptsAllowed + found.extraAttempts;
      const number = await countAttempt(em, tenantId, quizId, actor.userId, limit);
      if (number === null) return { errors: [assessmentError('ATTEMPT_LIMIT_REACHED', `You have used all ${limit} attempts at this quiz`)] };

      const versions = await currentVersions(em, tenantId, items.ids);
      const attempt = await insertAttempt(em, tenantId, {
        id: randomUUID(),
        quizId,
        learnerId: actor.userId,
        enrollmentId: found.enrollmentId,
        number,
        seed: items.seed,
        timeLimitSeconds: quiz.timeLimitSeconds,
        shuffleOptions: quiz.shuffleOptions,
        timeMultiplier: found.timeMultiplier,
        closesAt: quiz.closesAt,
        extensionSeconds: found.extensionSeconds,
        items: items.ids.map((questionId, i) => {
          const v = versions.get(questionId)!;
          return { position: i + 1, questionId, versionId: v.versionId, maxScore: maxPoints(v.definition) };
        }),
      });
      after(() => this.#deps.deadlines.schedule(tenantId, [{ id: attempt.id, deadline: attempt.deadline }]));
      return { attemptId: attempt.id, errors: [] };
    });
  }

  async saveAnswers(input: SaveAnswersInput): Promise<MutationResult> {
    const { actor, shown } = this.#deps;
    requirePerson(actor);
    const attemptId = inputId(input.attemptId, 'Attempt', 'attemptId');
    checkAnswerCount(input.answers, 1);
    return runMutation({ ...this.#deps, actor }, 'saveAnswers', input, async (em, tenantId) => {
      const attempt = await shown.get(em, tenantId, attemptId);
      // Only its learner answers an attempt (graders included: it does not exist for them here).
      if (!attempt || attempt.learnerId !== actor.userId) throw notFound('Attempt');
      const checked = checkAnswers(attempt, input.answers);
      if (checked.errors.length) return { attemptId, errors: checked.errors };
      const state = await saveAnswersIfOpen(em, tenantId, attemptId, checked.answers);
      if (!state) throw notFound('Attempt');
      const refused = stateError(state);
      return { attemptId, errors: refused ? [refused] : [] };
    });
  }

  async submitAttempt(input: SubmitAttemptInput): Promise<MutationResult> {
    const { actor, shown } = this.#deps;
    requirePerson(actor);
    const attemptId = inputId(input.attemptId, 'Attempt', 'attemptId');
    const answers = input.answers ?? [];
    checkAnswerCount(answers, 0);
    return runMutation({ ...this.#deps, actor }, 'submitAttempt', { ...input, answers }, async (em, tenantId) => {
      const attempt = await lockAttempt(em, tenantId, attemptId);
      if (!attempt || attempt.learnerId !== actor.userId) throw notFound('Attempt');
      // Submitted already (by the learner or at the deadline): submitting again is submitting once.
      if (attempt.status !== 'IN_PROGRESS') return { attemptId, errors: [] };
      if (attempt.overdue) {
        // Past the deadline: what was saved by then is what counts; it is submitted as at the deadline.
        await submitAndGrade(em, tenantId, [{ attempt, quiz: attempt.quiz, auto: true }], shown);
        return { attemptId, errors: answers.length ? [assessmentError('DEADLINE_PASSED', 'The deadline has passed: only the answers saved before it count')] : [] };
      }
      if (answers.length) {
        // An answer that does not fit refuses the submission: nothing is saved or submitted.
        const checked = checkAnswers((await shown.get(em, tenantId, attemptId))!, answers);
        if (checked.errors.length) return { attemptId, errors: checked.errors };
        await saveItemAnswers(em, tenantId, attemptId, checked.answers);
      }
      await submitAndGrade(em, tenantId, [{ attempt, quiz: attempt.quiz, auto: false }], shown);
      return { attemptId, errors: [] };
    });
  }
}

function checkAnswerCount(answers: AnswerInput[], min: number) {
  if (answers.length < min || answers.length > MAX_ANSWERS) throw badInput(`answers: give ${min} to ${MAX_ANSWERS} answers`, 'answers');
}

function stateError(attempt: { status: string; overdue: boolean; deadline: Date | null }): AssessmentError | null {
  if (attempt.status !== 'IN_PROGRESS') return assessmentError('ATTEMPT_SUBMITTED', 'The attempt was already submitted');
  if (attempt.overdue) return assessmentError('DEADLINE_PASSED', `The attempt's deadline passed at ${attempt.deadline!.toISOString()}`);
  return null;
}

/** Checks every answer against the question shown at its position: the typed answers, or every refusal. */
function checkAnswers(attempt: ShownAttempt, answers: AnswerInput[]): { answers: { position: number; answer: Answer }[]; errors: AssessmentError[] } {
  const positions = new Set(answers.map((a) => a.position));
  if (positions.size !== answers.length) return { answers: [], errors: [assessmentError('INVALID_ANSWER', 'Each position may be answered once per request', 'answers')] };
  const errors: AssessmentError[] = [];
  const parsed: { position: number; answer: Answer }[] = [];
  answers.forEach((a, n) => {
    const item = attempt.items.get(a.position);
    if (!item) return void errors.push(assessmentError('NO_SUCH_POSITION', `The attempt has no question at position ${a.position}`, `answers.${n}.position`));
    const { position: _p, ...raw } = a;
    const r = parseAnswer(item.definition, raw);
    if (!r.ok) return void errors.push(assessmentError('INVALID_ANSWER', r.message, `answers.${n}.${r.field}`));
    parsed.push({ position: a.position, answer: r.value });
  });
  return { answers: errors.length ? [] : parsed, errors };
}

/** The attempt's questions: fixed ones and random draws, from a new seed (stored with the attempt). */
async function drawItems(em: EntityManager, tenantId: string, quizId: string, shuffleQuestions: boolean): Promise<{ seed: string; ids: string[] }> {
  const rows = await em.execute<Record<string, unknown>[]>(`select * from quiz_items where tenant_id = ? and quiz_id = ? order by position`, [tenantId, quizId]);
  const fixed = rows.filter((r) => r.question_id != null).map((r) => ({ position: Number(r.position), questionId: String(r.question_id) }));
  const drawRows = rows.filter((r) => r.draw_count != null);
  const candidates = await drawCandidates(
    em,
    tenantId,
    drawRows.map((r) => ({ position: Number(r.position), bankId: r.draw_bank_id == null ? null : String(r.draw_bank_id), tag: r.draw_tag == null ? null : String(r.draw_tag) })),
  );
  const seed = newSeed();
  const draws = drawRows.map((r) => ({ position: Number(r.position), count: Number(r.draw_count), candidates: candidates.get(Number(r.position)) ?? [] }));
  return { seed, ids: drawQuestions({ seed, fixed, draws, shuffleQuestions }) };
}
