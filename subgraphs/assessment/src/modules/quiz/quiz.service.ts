// Quizzes of a course (instructors and ORG_ADMIN): settings, fixed questions and random draws.
// The course is checked with catalog (a quiz is written before its course is published, so
// drafts count). Attempts already started keep their questions and deadline whatever changes.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, inputId, notFound } from '@lectern/kernel';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { requireAuthor } from '../../access.ts';
import { assessmentError, type AssessmentError, type MutationResult } from '../../errors.ts';
import { Refusal, runMutation, type Idempotent, type ServiceDeps } from '../../mutation.ts';
import { normaliseTag } from '../grading/bank-file.ts';
import type { GradingMethod } from '../grading/grading-method.ts';
import type { ReviewAvailability, ReviewMode } from '../../views.ts';

type DateInput = Date | string;
export interface QuizDrawInput {
  count: number;
  bankId?: string | null;
  tag?: string | null;
}
interface QuizSettings {
  title?: string | null;
  description?: string | null;
  questionIds?: string[] | null;
  draws?: QuizDrawInput[] | null;
  timeLimitMinutes?: number | null;
  opensAt?: DateInput | null;
  closesAt?: DateInput | null;
  attemptsAllowed?: number | null;
  gradingMethod?: GradingMethod | null;
  passPercent?: number | null;
  shuffleQuestions?: boolean | null;
  shuffleOptions?: boolean | null;
  reviewMode?: ReviewMode | null;
  reviewAvailability?: ReviewAvailability | null;
  published?: boolean | null;
}
export interface CreateQuizInput extends QuizSettings, Idempotent {
  courseId: string;
  title: string;
}
export interface UpdateQuizInput extends QuizSettings, Idempotent {
  quizId: string;
}

type Row = Record<string, unknown>;
const MAX_FIXED = 200;
const MAX_DRAWS = 20;

function toDate(v: DateInput, field: string): Date {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw badInput(`${field} is not a valid date-time`, field);
  return d;
}

function intIn(v: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(v) || v < min || v > max) throw badInput(`${field} must be a whole number from ${min} to ${max}`, field);
  return v;
}

/** The columns a settings input sets (absent: unchanged; explicit null clears a nullable one). */
function columns(input: QuizSettings): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  const has = (k: keyof QuizSettings) => k in input && input[k] !== undefined;
  if (has('title')) {
    const t = (input.title ?? '').trim();
    if (t.length < 1 || t.length > 200) throw badInput('title must be 1 to 200 characters', 'title');
    c.title = t;
  }
  if (has('description')) {
    const d = input.description?.trim() || null;
    if (d && d.length > 10000) throw badInput('description must be at most 10000 characters', 'description');
    c.description = d;
  }
  if (has('timeLimitMinutes')) c.time_limit_seconds = input.timeLimitMinutes == null ? null : intIn(input.timeLimitMinutes, 1, 1440, 'timeLimitMinutes') * 60;
  if (has('opensAt')) c.opens_at = input.opensAt == null ? null : toDate(input.opensAt, 'opensAt');
  if (has('closesAt')) c.closes_at = input.closesAt == null ? null : toDate(input.closesAt, 'closesAt');
  if (has('attemptsAllowed')) c.attempts_allowed = input.attemptsAllowed == null ? null : intIn(input.attemptsAllowed, 1, 100, 'attemptsAllowed');
  if (input.gradingMethod != null) c.grading_method = input.gradingMethod;
  if (input.passPercent != null) {
    if (!Number.isFinite(input.passPercent) || input.passPercent < 0 || input.passPercent > 100) throw badInput('passPercent must be from 0 to 100', 'passPercent');
    c.pass_fraction = input.passPercent / 100;
  }
  if (input.shuffleQuestions != null) c.shuffle_questions = input.shuffleQuestions;
  if (input.shuffleOptions != null) c.shuffle_options = input.shuffleOptions;
  if (input.reviewMode != null) c.review_mode = input.reviewMode;
  if (input.reviewAvailability != null) c.review_availability = input.reviewAvailability;
  if (input.published != null) c.published = input.published;
  return c;
}

interface Items {
  fixed: string[];
  draws: { count: number; bankId: string | null; tag: string | null }[];
}

function parseItems(input: QuizSettings): Items | null {
  if (input.questionIds == null && input.draws == null) return null;
  const fixed = (input.questionIds ?? []).map((id) => inputId(id, 'Question', 'questionIds'));
  if (fixed.length > MAX_FIXED) throw badInput(`questionIds: at most ${MAX_FIXED}`, 'questionIds');
  if (new Set(fixed).size !== fixed.length) throw badInput('questionIds: a question may appear once', 'questionIds');
  const draws = (input.draws ?? []).map((d, i) => ({
    count: intIn(d.count, 1, 100, `draws.${i}.count`),
    bankId: d.bankId == null ? null : inputId(d.bankId, 'QuestionBank', `draws.${i}.bankId`),
    tag: d.tag == null ? null : normaliseTag(d.tag) || null,
  }));
  if (draws.length > MAX_DRAWS) throw badInput(`draws: at most ${MAX_DRAWS}`, 'draws');
  return { fixed, draws };
}

/** Replaces the quiz's items; QUESTION_NOT_FOUND for a question or bank not in the organization. */
async function replaceItems(em: EntityManager, tenantId: string, quizId: string, items: Items): Promise<AssessmentError[]> {
  const banks = [...new Set(items.draws.map((d) => d.bankId).filter((b): b is string => !!b))];
  const foundQ = items.fixed.length
    ? new Set((await em.execute<Row[]>(`select id from questions where tenant_id = ? and id = any(${arr(items.fixed, 'uuid')})`, [tenantId, ...items.fixed])).map((r) => String(r.id)))
    : new Set<string>();
  const foundB = banks.length ? new Set((await em.execute<Row[]>(`select id from question_banks where tenant_id = ? and id = any(${arr(banks, 'uuid')})`, [tenantId, ...banks])).map((r) => String(r.id))) : new Set<string>();
  const errors = [
    ...items.fixed.flatMap((q, i) => (foundQ.has(q) ? [] : [assessmentError('QUESTION_NOT_FOUND', 'No such question in the organization', `questionIds.${i}`)])),
    ...items.draws.flatMap((d, i) => (d.bankId && !foundB.has(d.bankId) ? [assessmentError('QUESTION_NOT_FOUND', 'No such question bank in the organization', `draws.${i}.bankId`)] : [])),
  ];
  if (errors.length) return errors;
  await em.execute(`delete from quiz_items where tenant_id = ? and quiz_id = ?`, [tenantId, quizId]);
  const rows = [
    ...items.fixed.map((questionId, i) => ({ position: i + 1, question_id: questionId, draw_count: null, draw_bank_id: null, draw_tag: null })),
    ...items.draws.map((d, i) => ({ position: items.fixed.length + i + 1, question_id: null, draw_count: d.count, draw_bank_id: d.bankId, draw_tag: d.tag })),
  ];
  if (rows.length) {
    await em.execute(
      `insert into quiz_items (tenant_id, quiz_id, position, question_id, draw_count, draw_bank_id, draw_tag)
       select ?, ?, x.position, x.question_id, x.draw_count, x.draw_bank_id, x.draw_tag from jsonb_to_recordset(?::jsonb) as x(position int, question_id uuid, draw_count int, draw_bank_id uuid, draw_tag text)`,
      [tenantId, quizId, JSON.stringify(rows)],
    );
  }
  return [];
}

function checkWindow(opensAt: unknown, closesAt: unknown) {
  if (opensAt instanceof Date && closesAt instanceof Date && closesAt <= opensAt) throw badInput('closesAt must be after opensAt', 'closesAt');
}

export class QuizService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async createQuiz(input: CreateQuizInput): Promise<MutationResult> {
    const { actor, catalog } = this.#deps;
    requireAuthor(actor);
    const courseId = inputId(input.courseId, 'Course', 'courseId');
    const set = columns({ gradingMethod: 'HIGHEST', passPercent: 50, reviewMode: 'SCORE_ONLY', reviewAvailability: 'IMMEDIATELY', ...input });
    checkWindow(set.opens_at, set.closes_at);
    const items = parseItems(input) ?? { fixed: [], draws: [] };
    return runMutation({ ...this.#deps, actor }, 'createQuiz', input, async (em, tenantId) => {
      if (!(await catalog.existingCourses(tenantId, [courseId])).has(courseId)) return { errors: [assessmentError('COURSE_NOT_FOUND', 'No such course in the organization', 'courseId')] };
      const id = randomUUID();
      const names = Object.keys(set);
      await em.execute(`insert into quizzes (id, tenant_id, course_id, created_by, ${names.join(', ')}) values (?, ?, ?, ?, ${names.map(() => '?').join(', ')})`, [
        id,
        tenantId,
        courseId,
        actor.userId,
        ...Object.values(set),
      ]);
      const errors = await replaceItems(em, tenantId, id, items);
      if (errors.length) throw new Refusal(...errors);
      return { quizId: id, errors: [] };
    });
  }

  async updateQuiz(input: UpdateQuizInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAuthor(actor);
    const quizId = inputId(input.quizId, 'Quiz', 'quizId');
    const set = columns(input);
    const items = parseItems(input);
    return runMutation({ ...this.#deps, actor }, 'updateQuiz', input, async (em, tenantId) => {
      const [current] = await em.execute<Row[]>(`select opens_at, closes_at from quizzes where tenant_id = ? and id = ? for update`, [tenantId, quizId]);
      if (!current) throw notFound('Quiz');
      checkWindow('opens_at' in set ? set.opens_at : current.opens_at ? new Date(String(current.opens_at)) : null, 'closes_at' in set ? set.closes_at : current.closes_at ? new Date(String(current.closes_at)) : null);
      if (Object.keys(set).length) {
        await em.execute(`update quizzes set ${Object.keys(set).map((k) => `${k} = ?`).join(', ')}, updated_at = now() where tenant_id = ? and id = ?`, [...Object.values(set), tenantId, quizId]);
      }
      if (items) {
        const errors = await replaceItems(em, tenantId, quizId, items);
        if (errors.length) throw new Refusal(...errors);
      }
      return { quizId, errors: [] };
    });
  }
}

