// Attempts in SQL: the statements of the attempt hot paths (start, autosave, submit, grade),
// each naming tenant_id. Deadlines are computed and compared by PostgreSQL's clock
// (clock_timestamp()): what the client's clock says never matters.
import type { EntityManager } from '@mikro-orm/postgresql';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { timestamp } from '@lectern/kernel/rows';
import { attemptRow, itemRow, quizRow, definitionOf, type AttemptView, type ItemView, type QuizView } from '../../views.ts';
import { answerSchema, type Answer } from '../grading/answer.ts';
import type { QuestionDefinition } from '../grading/question.ts';

type Row = Record<string, unknown>;

/**
 * The one rule of which accommodation applies: the learner's for quiz row `q`, else theirs for its
 * course. Joins them as `aq` and `ac`; read a setting as coalesce(aq.x, ac.x, default).
 * `learner` is an SQL expression (`?::uuid`, twice a parameter, or a column).
 */
export const accommodationJoins = (learner: string) => `left join accommodations aq on aq.tenant_id = q.tenant_id and aq.learner_id = ${learner} and aq.quiz_id = q.id
  left join accommodations ac on ac.tenant_id = q.tenant_id and ac.learner_id = ${learner} and ac.course_id = q.course_id`;

export interface QuizForStart {
  quiz: QuizView;
  enrollmentId: string | null;
  timeMultiplier: number;
  extraAttempts: number;
  extensionSeconds: number;
  /** The database's clock now. */
  now: Date;
}

/** The quiz, the learner's active enrollment in its course and their effective accommodation, in one statement. */
export async function quizForStart(em: EntityManager, tenantId: string, quizId: string, learnerId: string): Promise<QuizForStart | null> {
  const [r] = await em.execute<Row[]>(
    `select q.*, clock_timestamp() as db_now,
            (select re.enrollment_id from roster_enrollments re where re.tenant_id = ? and re.learner_id = ?::uuid and re.course_id = q.course_id and re.status = 'ACTIVE'
              order by re.updated_at desc limit 1) as enrollment_id,
            coalesce(aq.time_multiplier, ac.time_multiplier, 1) as mult,
            coalesce(aq.extra_attempts, ac.extra_attempts, 0) as extra,
            coalesce(aq.extension_seconds, ac.extension_seconds, 0) as ext
       from quizzes q ${accommodationJoins('?::uuid')}
      where q.tenant_id = ? and q.id = ?`,
    [tenantId, learnerId, learnerId, learnerId, tenantId, quizId],
  );
  if (!r) return null;
  return {
    quiz: quizRow(r),
    enrollmentId: r.enrollment_id == null ? null : String(r.enrollment_id),
    timeMultiplier: Number(r.mult),
    extraAttempts: Number(r.extra),
    extensionSeconds: Number(r.ext),
    now: new Date(String(r.db_now)),
  };
}

/**
 * Counts one more attempt of (quiz, learner) if fewer than `limit` were started (null: no
 * limit), in one statement: concurrent starts serialise on the counter row, and each re-checks
 * the limit against the row as the previous one left it, so exactly `limit` succeed. Returns
 * the new attempt's number, or null when the limit is reached.
 */
export async function countAttempt(em: EntityManager, tenantId: string, quizId: string, learnerId: string, limit: number | null): Promise<number | null> {
  const [r] = await em.execute<Row[]>(
    `insert into attempt_counters (tenant_id, quiz_id, learner_id, started) values (?, ?, ?, 1)
     on conflict (tenant_id, quiz_id, learner_id) do update set started = attempt_counters.started + 1
       where ?::int is null or attempt_counters.started < ?::int
     returning started`,
    [tenantId, quizId, learnerId, limit, limit],
  );
  return r ? Number(r.started) : null;
}

/** Question ids each draw may pick from (not archived; its bank and tag), in one statement. */
export async function drawCandidates(em: EntityManager, tenantId: string, draws: { position: number; bankId: string | null; tag: string | null }[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>(draws.map((d) => [d.position, []]));
  if (!draws.length) return out;
  const rows = await em.execute<Row[]>(
    `select d.position, q.id from jsonb_to_recordset(?::jsonb) as d(position int, bank_id uuid, tag text)
       join questions q on q.tenant_id = ? and q.archived_at is null and (d.bank_id is null or q.bank_id = d.bank_id) and (d.tag is null or d.tag = any(q.tags))`,
    [JSON.stringify(draws.map((d) => ({ position: d.position, bank_id: d.bankId, tag: d.tag }))), tenantId],
  );
  for (const r of rows) out.get(Number(r.position))!.push(String(r.id));
  return out;
}

/** The current version of each question, with its definition. */
export async function currentVersions(em: EntityManager, tenantId: string, questionIds: string[]): Promise<Map<string, { versionId: string; definition: QuestionDefinition }>> {
  if (!questionIds.length) return new Map();
  const rows = await em.execute<Row[]>(
    `select q.id as question_id, v.id as version_id, v.definition
       from questions q join question_versions v on v.tenant_id = q.tenant_id and v.question_id = q.id and v.number = q.current_version
      where q.tenant_id = ? and v.tenant_id = ? and q.id = any(${arr(questionIds, 'uuid')})`,
    [tenantId, tenantId, ...questionIds],
  );
  return new Map(rows.map((r) => [String(r.question_id), { versionId: String(r.version_id), definition: definitionOf(r.definition) }]));
}

export interface NewAttempt {
  id: string;
  quizId: string;
  learnerId: string;
  enrollmentId: string;
  number: number;
  seed: string;
  timeLimitSeconds: number | null;
  shuffleOptions: boolean;
  timeMultiplier: number;
  closesAt: Date | null;
  extensionSeconds: number;
  items: { position: number; questionId: string; versionId: string; maxScore: number }[];
}

/**
 * Inserts the attempt with its deadline, min(start + limit × multiplier, close + extension)
 * on the database's clock, its questions, and (when it has a deadline) its row in
 * open_attempt_deadlines. Returns the attempt as stored.
 */
export async function insertAttempt(em: EntityManager, tenantId: string, a: NewAttempt): Promise<AttemptView> {
  const maxScore = a.items.reduce((s, i) => s + i.maxScore, 0);
  const [row] = await em.execute<Row[]>(
    `insert into attempts (id, tenant_id, quiz_id, learner_id, enrollment_id, number, seed, time_limit_seconds, shuffle_options, max_score, started_at, deadline)
     select ?, ?, ?, ?, ?, ?, ?, ?::int, ?, ?, n.at,
            least(case when ?::int is not null then n.at + make_interval(secs => ?::int * ?::numeric) end,
                  case when ?::timestamptz is not null then ?::timestamptz + make_interval(secs => ?::int) end)
       from (select clock_timestamp() as at) n
     returning *`,
    [
      a.id, tenantId, a.quizId, a.learnerId, a.enrollmentId, a.number, a.seed, a.timeLimitSeconds, a.shuffleOptions, maxScore,
      a.timeLimitSeconds, a.timeLimitSeconds, a.timeMultiplier, a.closesAt, a.closesAt, a.extensionSeconds,
    ],
  );
  await em.execute(
    `insert into attempt_items (tenant_id, attempt_id, position, question_id, version_id, max_score)
     select ?, ?, x.position, x.question_id, x.version_id, x.max_score from jsonb_to_recordset(?::jsonb) as x(position int, question_id uuid, version_id uuid, max_score numeric)`,
    [tenantId, a.id, JSON.stringify(a.items.map((i) => ({ position: i.position, question_id: i.questionId, version_id: i.versionId, max_score: i.maxScore })))],
  );
  const attempt = attemptRow(row!);
  if (attempt.deadline) await em.execute(`insert into open_attempt_deadlines (attempt_id, organization_id, deadline) values (?, ?, ?)`, [a.id, tenantId, attempt.deadline]);
  return attempt;
}

/** The attempt locked for a change, with its quiz and whether its deadline has passed by the database's clock, in one statement. */
export async function lockAttempt(em: EntityManager, tenantId: string, attemptId: string): Promise<(AttemptView & { overdue: boolean; quiz: QuizView }) | null> {
  const [r] = await em.execute<Row[]>(
    `select a.*, (a.deadline is not null and a.deadline <= clock_timestamp()) as overdue, to_jsonb(q) as quiz
       from attempts a join quizzes q on q.tenant_id = a.tenant_id and q.id = a.quiz_id
      where a.tenant_id = ? and q.tenant_id = ? and a.id = ? for update of a`,
    [tenantId, tenantId, attemptId],
  );
  if (!r) return null;
  return { ...attemptRow(r), overdue: r.overdue === true || r.overdue === 't', quiz: quizRow(r.quiz as Row) };
}

/**
 * Due attempts of the organization, locked for submission: `first` if it is due, then others
 * whose deadline has passed by the database's clock, earliest first, up to `limit` (1: `first`
 * alone); attempts another transaction holds are skipped (it is submitting them).
 */
export async function lockDue(em: EntityManager, tenantId: string, first: string, limit: number): Promise<(AttemptView & { quiz: QuizView })[]> {
  const rows = await em.execute<Row[]>(
    `select a.*, to_jsonb(q) as quiz
       from attempts a join quizzes q on q.tenant_id = a.tenant_id and q.id = a.quiz_id
      where a.tenant_id = ? and q.tenant_id = ? and a.status = 'IN_PROGRESS' and a.deadline <= clock_timestamp() and (?::int > 1 or a.id = ?)
      order by (a.id = ?) desc, a.deadline
      limit ? for update of a skip locked`,
    [tenantId, tenantId, limit, first, first, limit],
  );
  return rows.map((r) => ({ ...attemptRow(r), quiz: quizRow(r.quiz as Row) }));
}

/** The saved answer of each of the attempt's questions, by position. */
export async function savedAnswers(em: EntityManager, tenantId: string, attemptId: string): Promise<Map<number, Answer | null>> {
  const rows = await em.execute<Row[]>(`select position, answer from attempt_items where tenant_id = ? and attempt_id = ?`, [tenantId, attemptId]);
  return new Map(rows.map((r) => [Number(r.position), r.answer == null ? null : (answerSchema.parse(typeof r.answer === 'string' ? JSON.parse(r.answer) : r.answer) as Answer)]));
}

/** The attempt essays are graded in: its questions with their versions' definitions (all, or those at `positions`). */
export async function itemsWithDefinitions(em: EntityManager, tenantId: string, attemptId: string, positions?: number[]): Promise<(ItemView & { definition: QuestionDefinition })[]> {
  const rows = await em.execute<Row[]>(
    `select i.*, v.definition from attempt_items i join question_versions v on v.tenant_id = i.tenant_id and v.id = i.version_id
      where i.tenant_id = ? and v.tenant_id = ? and i.attempt_id = ?${positions ? ` and i.position = any(${arr(positions, 'int')})` : ''}
      order by i.position`,
    [tenantId, tenantId, attemptId, ...(positions ?? [])],
  );
  return rows.map((r) => ({ ...itemRow(r), definition: definitionOf(r.definition) }));
}

/** Replaces the saved answers at their positions, stamped with the database's clock (the attempt is locked by the caller). */
export async function saveItemAnswers(em: EntityManager, tenantId: string, attemptId: string, answers: { position: number; answer: unknown }[]): Promise<void> {
  await em.execute(
    `update attempt_items i set answer = x.answer, answered_at = clock_timestamp()
       from jsonb_to_recordset(?::jsonb) as x(position int, answer jsonb)
      where i.tenant_id = ? and i.attempt_id = ? and i.position = x.position`,
    [JSON.stringify(answers), tenantId, attemptId],
  );
}

/**
 * Autosave in one statement: the attempt is share-locked (a submit, which locks it for update,
 * waits for the save or the save for the submit) and the answers are written only while it is
 * in progress and before its deadline by the database's clock. Answers the attempt's state as
 * it was when the save ran; nothing was written unless it was IN_PROGRESS and not overdue.
 */
export async function saveAnswersIfOpen(
  em: EntityManager,
  tenantId: string,
  attemptId: string,
  answers: { position: number; answer: unknown }[],
): Promise<{ status: string; overdue: boolean; deadline: Date | null } | null> {
  const [r] = await em.execute<Row[]>(
    `with a as (
       select id, status, deadline, (deadline is not null and deadline <= clock_timestamp()) as overdue
         from attempts where tenant_id = ? and id = ? for share),
     saved as (
       update attempt_items i set answer = x.answer, answered_at = clock_timestamp()
         from jsonb_to_recordset(?::jsonb) as x(position int, answer jsonb), a
        where i.tenant_id = ? and i.attempt_id = a.id and i.position = x.position and a.status = 'IN_PROGRESS' and not a.overdue
        returning i.position)
     select a.status, a.overdue, a.deadline, (select count(*) from saved)::int as saved from a`,
    [tenantId, attemptId, JSON.stringify(answers), tenantId],
  );
  if (!r) return null;
  return { status: String(r.status), overdue: r.overdue === true || r.overdue === 't', deadline: r.deadline == null ? null : timestamp(r.deadline) };
}

/** Writes item grades (score null = waits for a grader), each graded with `gradedVersionId`, in one statement. */
export async function writeItemGrades(
  em: EntityManager,
  tenantId: string,
  grades: { attemptId: string; position: number; score: number | null; needsGrading: boolean; gradedVersionId: string }[],
): Promise<void> {
  if (!grades.length) return;
  await em.execute(
    `update attempt_items i set score = x.score, needs_grading = x.needs_grading, graded_version_id = x.graded_version_id, graded_at = clock_timestamp()
       from jsonb_to_recordset(?::jsonb) as x(attempt_id uuid, position int, score numeric, needs_grading boolean, graded_version_id uuid)
      where i.tenant_id = ? and i.attempt_id = x.attempt_id and i.position = x.position`,
    [JSON.stringify(grades.map((g) => ({ attempt_id: g.attemptId, position: g.position, score: g.score, needs_grading: g.needsGrading, graded_version_id: g.gradedVersionId }))), tenantId],
  );
}

/**
 * Recomputes the deadline of `learnerId`'s open attempts (all, or those of `quizIds`) from their
 * start, their time limit and the effective accommodation now; returns those that moved.
 * open_attempt_deadlines follows.
 */
export async function refreshDeadlines(em: EntityManager, tenantId: string, learnerId: string): Promise<{ id: string; deadline: Date | null }[]> {
  const rows = await em.execute<Row[]>(
    `with eff as (
       select a.id,
              least(case when a.time_limit_seconds is not null then a.started_at + make_interval(secs => a.time_limit_seconds * coalesce(aq.time_multiplier, ac.time_multiplier, 1)) end,
                    case when q.closes_at is not null then q.closes_at + make_interval(secs => coalesce(aq.extension_seconds, ac.extension_seconds, 0)) end) as deadline
         from attempts a join quizzes q on q.tenant_id = a.tenant_id and q.id = a.quiz_id
         ${accommodationJoins('a.learner_id')}
        where a.tenant_id = ? and a.learner_id = ? and a.status = 'IN_PROGRESS')
     update attempts t set deadline = eff.deadline, updated_at = now()
       from eff where t.tenant_id = ? and t.id = eff.id and t.deadline is distinct from eff.deadline
     returning t.id, t.deadline`,
    [tenantId, learnerId, tenantId],
  );
  const moved = rows.map((r) => ({ id: String(r.id), deadline: r.deadline == null ? null : new Date(String(r.deadline)) }));
  const dated = moved.filter((m) => m.deadline);
  const undated = moved.filter((m) => !m.deadline).map((m) => m.id);
  if (dated.length) {
    await em.execute(
      `insert into open_attempt_deadlines (attempt_id, organization_id, deadline) select x.id, ?, x.deadline from jsonb_to_recordset(?::jsonb) as x(id uuid, deadline timestamptz)
       on conflict (attempt_id) do update set deadline = excluded.deadline`,
      [tenantId, JSON.stringify(dated.map((m) => ({ id: m.id, deadline: m.deadline!.toISOString() })))],
    );
  }
  if (undated.length) await em.execute(`delete from open_attempt_deadlines where attempt_id = any(${arr(undated, 'uuid')})`, undated);
  return moved;
}
