// Submitting and grading attempts, and what a grade change emits: one code path for the
// learner's submitAttempt, the expire-attempt job at a deadline and the worker's sweep. It is
// set-based over many attempts of one organization (a class's attempts expire together: the
// job that fires first grades every due one it can lock, in a handful of statements), and a
// single submission is the case of one.
//
// Objective answers are graded on submit (modules/grading/grade.ts); an attempt with an essay
// answered stays SUBMITTED until a grader grades it. Each grade change is recorded in
// grade_changes and emits, through the outbox in the same transaction, AttemptGraded and then
// QuizPassed or QuizFailed for the learner's quiz grade (the quiz's grading method over their
// graded attempts) against the pass mark.
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordEvents } from '@lectern/kernel/outbox';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import { AttemptGraded, AttemptSubmitted, QuizFailed, QuizPassed } from '@lectern/contracts/assessment';
import { finalScore, type AttemptView, type GradeChangeKind, type GradeChangeView, type QuizView } from '../../views.ts';
import { answerSchema, type Answer } from '../grading/answer.ts';
import { grade, round4 } from '../grading/grade.ts';
import { quizGrade } from '../grading/grading-method.ts';
import { accommodationJoins, writeItemGrades } from './attempt.store.ts';
import type { AttemptItemsCache } from './item-cache.ts';

type Row = Record<string, unknown>;

/** An attempt to submit (locked by the caller, IN_PROGRESS), with its quiz. */
export interface Submission {
  attempt: AttemptView;
  quiz: QuizView;
  /** Whether the server submits it at its deadline (else its learner does). */
  auto: boolean;
}

/**
 * Submits attempts: grades every answer they hold (the definitions of the versions they showed
 * from `shown`), sets each SUBMITTED or GRADED and drops its open deadline, and records
 * AttemptSubmitted, then the grade's events for those fully graded.
 */
export async function submitAndGrade(em: EntityManager, tenantId: string, subs: Submission[], shown: AttemptItemsCache): Promise<void> {
  if (!subs.length) return;
  const ids = subs.map((s) => s.attempt.id);
  const items = await em.execute<Row[]>(`select attempt_id, position, version_id, answer from attempt_items where tenant_id = ? and attempt_id = any(?::uuid[])`, [
    tenantId,
    uuidArrayLiteral(ids),
  ]);
  const definitions = await shown.definitions(em, tenantId, items.map((i) => String(i.version_id)));
  const grades = items.map((i) => {
    const answer = i.answer == null ? null : (answerSchema.parse(typeof i.answer === 'string' ? JSON.parse(i.answer) : i.answer) as Answer);
    const g = grade(definitions.get(String(i.version_id))!, answer);
    return { attemptId: String(i.attempt_id), position: Number(i.position), score: g.score, needsGrading: g.manual, gradedVersionId: String(i.version_id) };
  });
  await writeItemGrades(em, tenantId, grades);
  const outcome = subs.map((s) => {
    const mine = grades.filter((g) => g.attemptId === s.attempt.id);
    const needsGrading = mine.some((g) => g.needsGrading);
    return { ...s, needsGrading, score: needsGrading ? null : round4(mine.reduce((sum, g) => sum + (g.score ?? 0), 0)) };
  });
  await em.execute(
    `with submitted as (
       update attempts a set status = case when x.needs_grading then 'SUBMITTED' else 'GRADED' end, submitted_at = clock_timestamp(), auto_submitted = x.auto,
              score = x.score, graded_at = case when x.needs_grading then null else clock_timestamp() end, updated_at = now()
         from jsonb_to_recordset(?::jsonb) as x(id uuid, auto boolean, needs_grading boolean, score numeric)
        where a.tenant_id = ? and a.id = x.id
        returning a.id)
     delete from open_attempt_deadlines d using submitted where d.attempt_id = submitted.id`,
    [JSON.stringify(outcome.map((o) => ({ id: o.attempt.id, auto: o.auto, needs_grading: o.needsGrading, score: o.score }))), tenantId],
  );
  await recordEvents(
    em,
    AttemptSubmitted,
    tenantId,
    outcome.map((o) => ({
      aggregateId: o.attempt.id,
      payload: { attemptId: o.attempt.id, quizId: o.quiz.id, courseId: o.quiz.courseId, learnerId: o.attempt.learnerId, autoSubmitted: o.auto, needsGrading: o.needsGrading },
    })),
  );
  const graded = outcome.filter((o) => !o.needsGrading);
  await recordGradeChanges(
    em,
    tenantId,
    graded.map((o) => ({ attemptId: o.attempt.id, position: null, kind: 'AUTO_GRADED', fromScore: null, toScore: o.score, changedBy: null, reason: null })),
  );
  await gradeEvents(
    em,
    tenantId,
    graded.map((o) => ({ attempt: { ...o.attempt, score: o.score, status: 'GRADED' }, quiz: o.quiz })),
    'AUTO_GRADED',
  );
}

/** A change to record (its time is the database's). */
export type GradeChange = Omit<GradeChangeView, 'changedAt'>;

/** Appends to attempts' grade history, in one statement. */
export async function recordGradeChanges(em: EntityManager, tenantId: string, changes: GradeChange[]): Promise<void> {
  if (!changes.length) return;
  await em.execute(
    `insert into grade_changes (id, tenant_id, attempt_id, position, kind, from_score, to_score, changed_by, reason)
     select gen_random_uuid(), ?, x.attempt_id, x.position, x.kind, x.from_score, x.to_score, x.changed_by, x.reason
       from rows from (jsonb_to_recordset(?::jsonb) as (attempt_id uuid, position int, kind text, from_score numeric, to_score numeric, changed_by uuid, reason text))
            with ordinality as x(attempt_id, position, kind, from_score, to_score, changed_by, reason, n)
      order by x.n`,
    [
      tenantId,
      JSON.stringify(changes.map((c) => ({ attempt_id: c.attemptId, position: c.position, kind: c.kind, from_score: c.fromScore, to_score: c.toScore, changed_by: c.changedBy, reason: c.reason }))),
    ],
  );
}

/**
 * After changes left attempts GRADED with a (new) final score: AttemptGraded for each, then
 * QuizPassed or QuizFailed for each learner's quiz grade now (one statement reads every
 * (quiz, learner)'s graded attempts, attempts started and extra attempts).
 */
export async function gradeEvents(em: EntityManager, tenantId: string, graded: { attempt: AttemptView; quiz: QuizView }[], reason: GradeChangeKind): Promise<void> {
  if (!graded.length) return;
  const fractionOf = (a: AttemptView) => {
    const final = finalScore(a);
    return a.maxScore > 0 && final !== null ? Math.min(1, Math.max(0, final / a.maxScore)) : 0;
  };
  await recordEvents(
    em,
    AttemptGraded,
    tenantId,
    graded.map(({ attempt, quiz }) => ({
      aggregateId: attempt.id,
      payload: { attemptId: attempt.id, quizId: quiz.id, courseId: quiz.courseId, learnerId: attempt.learnerId, score: fractionOf(attempt), reason },
    })),
  );
  const results = await learnerResults(em, tenantId, graded.map(({ attempt, quiz }) => ({ quizId: quiz.id, learnerId: attempt.learnerId })));
  const passed: { aggregateId: string; payload: { attemptId: string; quizId: string; learnerId: string; score: number } }[] = [];
  const failed: { aggregateId: string; payload: { attemptId: string; quizId: string; learnerId: string; score: number; attemptsLeft: number | null } }[] = [];
  for (const { attempt, quiz } of graded) {
    const r = results.get(`${quiz.id}:${attempt.learnerId}`) ?? { graded: [], started: 0, extraAttempts: 0 };
    const g = quizGrade(quiz.gradingMethod, r.graded);
    if (g === null) continue;
    const score = Math.min(1, Math.max(0, g));
    const base = { attemptId: attempt.id, quizId: quiz.id, learnerId: attempt.learnerId, score };
    if (score + 1e-9 >= quiz.passFraction) passed.push({ aggregateId: attempt.id, payload: base });
    else {
      const allowed = quiz.attemptsAllowed === null ? null : quiz.attemptsAllowed + r.extraAttempts;
      failed.push({ aggregateId: attempt.id, payload: { ...base, attemptsLeft: allowed === null ? null : Math.max(0, allowed - r.started) } });
    }
  }
  await recordEvents(em, QuizPassed, tenantId, passed);
  await recordEvents(em, QuizFailed, tenantId, failed);
}

interface LearnerResults {
  /** Graded attempts: their number and final score over their maximum. */
  graded: { number: number; fraction: number }[];
  started: number;
  /** The accommodation's extra attempts (the quiz's, else its course's). */
  extraAttempts: number;
}

/** For each (quiz, learner): graded attempts, attempts started and extra attempts, in one statement; keyed `<quiz>:<learner>`. */
async function learnerResults(em: EntityManager, tenantId: string, pairs: { quizId: string; learnerId: string }[]): Promise<Map<string, LearnerResults>> {
  const unique = [...new Map(pairs.map((p) => [`${p.quizId}:${p.learnerId}`, p])).values()];
  const rows = await em.execute<Row[]>(
    `select c.quiz_id, c.learner_id, c.started, a.number, coalesce(a.override_score, a.score) / nullif(a.max_score, 0) as fraction,
            coalesce(aq.extra_attempts, ac.extra_attempts, 0) as extra
       from jsonb_to_recordset(?::jsonb) as p(quiz_id uuid, learner_id uuid)
       join attempt_counters c on c.tenant_id = ? and c.quiz_id = p.quiz_id and c.learner_id = p.learner_id
       join quizzes q on q.tenant_id = c.tenant_id and q.id = c.quiz_id
       ${accommodationJoins('c.learner_id')}
       left join attempts a on a.tenant_id = c.tenant_id and a.quiz_id = c.quiz_id and a.learner_id = c.learner_id and a.status = 'GRADED'
      order by c.quiz_id, c.learner_id, a.number`,
    [JSON.stringify(unique.map((p) => ({ quiz_id: p.quizId, learner_id: p.learnerId }))), tenantId],
  );
  const out = new Map<string, LearnerResults>();
  for (const r of rows) {
    const key = `${String(r.quiz_id)}:${String(r.learner_id)}`;
    const entry = out.get(key) ?? out.set(key, { graded: [], started: Number(r.started), extraAttempts: Number(r.extra) }).get(key)!;
    if (r.number != null) entry.graded.push({ number: Number(r.number), fraction: r.fraction == null ? 0 : Number(r.fraction) });
  }
  return out;
}
