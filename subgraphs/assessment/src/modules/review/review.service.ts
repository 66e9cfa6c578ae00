// Grading by people, and every later change to a grade, each kept in grade_changes (who, when,
// from, to, why) and announced through the outbox (AttemptGraded, QuizPassed / QuizFailed):
// - gradeAnswer: an essay graded by an instructor of the learner's cohort (or ORG_ADMIN), with a
//   rubric selection per criterion or a plain score; the attempt is GRADED once no answer waits.
// - overrideGrade: an attempt's final score set by hand, with a reason (null lifts it).
// - regradeQuestion: after a question's answer key was corrected (a new version), every answer
//   graded with an earlier version is graded again with the current one. A dry run computes
//   the same plan (`planRegrade`) without writing, so it lists exactly what applying does.
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, forbidden, inputId, notFound } from '@lectern/kernel';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { overseesSql, requireGrader, type Member, type Viewer } from '../../access.ts';
import { assessmentError, type MutationResult } from '../../errors.ts';
import { Refusal, runMutation, type Idempotent, type ServiceDeps } from '../../mutation.ts';
import { attemptRow, definitionOf, finalScore, itemRow, quizRow, type AttemptView, type QuizView } from '../../views.ts';
import { lockAttempt, itemsWithDefinitions, writeItemGrades } from '../attempt/attempt.store.ts';
import { gradeEvents, recordGradeChanges, type GradeChange } from '../attempt/finalize.ts';

import { parseAnswer, rawAnswerOf } from '../grading/answer.ts';
import { grade, gradeEssay, round4 } from '../grading/grade.ts';
import { maxPoints, type QuestionDefinition } from '../grading/question.ts';

/** One change to an attempt's grade history. */const recordGradeChange = (em: EntityManager, tenantId: string, change: GradeChange) => recordGradeChanges(em, tenantId, [change]);

export interface GradeAnswerInput extends Idempotent {
  attemptId: string;
  position: number;
  score?: number | null;
  rubric?: { criterionId: string; levelId: string; comment?: string | null }[] | null;
  comment?: string | null;
}
export interface OverrideGradeInput extends Idempotent {
  attemptId: string;
  score?: number | null;
  reason: string;
}
export interface RegradeQuestionInput extends Idempotent {
  questionId: string;
  dryRun: boolean;
}

type Row = Record<string, unknown>;
const MAX_COMMENT = 5000;

/** Whether `viewer` oversees the attempt (teaches its learner's cohort now, or grades every attempt). */
async function oversees(em: EntityManager, tenantId: string, attemptId: string, viewer: Viewer): Promise<boolean> {
  const [r] = await em.execute<Row[]>(`select ${overseesSql('a')} as ok from attempts a where a.tenant_id = ? and a.id = ?`, [viewer.gradesAll, tenantId, viewer.userId ?? '00000000-0000-0000-0000-000000000000', tenantId, attemptId]);
  return r?.ok === true || r?.ok === 't';
}

/** The attempt, locked, if the caller grades it; NOT_FOUND otherwise (also for its own learner). */
async function gradedAttempt(em: EntityManager, tenantId: string, attemptId: string, viewer: Viewer) {
  const attempt = await lockAttempt(em, tenantId, attemptId);
  if (!attempt || !(await oversees(em, tenantId, attemptId, viewer))) throw notFound('Attempt');
  return attempt;
}

export class ReviewService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async gradeAnswer(input: GradeAnswerInput): Promise<MutationResult> {
    const { actor, viewer } = this.#deps;
    requireGrader(actor);
    const attemptId = inputId(input.attemptId, 'Attempt', 'attemptId');
    const comment = input.comment?.trim() || null;
    if (comment && comment.length > MAX_COMMENT) throw badInput(`comment must be at most ${MAX_COMMENT} characters`, 'comment');
    return runMutation({ ...this.#deps, actor }, 'gradeAnswer', input, async (em, tenantId) => {
      const attempt = await gradedAttempt(em, tenantId, attemptId, viewer);
      if (attempt.status === 'IN_PROGRESS') return { attemptId, errors: [assessmentError('ATTEMPT_NOT_SUBMITTED', 'The attempt is still in progress')] };
      const [item] = await itemsWithDefinitions(em, tenantId, attemptId, [input.position]);
      if (!item) return { attemptId, errors: [assessmentError('NO_SUCH_POSITION', `The attempt has no question at position ${input.position}`, 'position')] };
      if (item.definition.type !== 'ESSAY') return { attemptId, errors: [assessmentError('NOT_MANUALLY_GRADED', 'Only essays are graded by hand: override the attempt instead', 'position')] };
      if (!item.answer) return { attemptId, errors: [assessmentError('NOT_MANUALLY_GRADED', 'The essay was not answered: it scores 0', 'position')] };
      const graded = gradeEssay(item.definition, { score: input.score, rubric: input.rubric });
      if (!graded.ok) throw badInput(graded.message, graded.field);
      const rubric = input.rubric?.map((r) => ({ criterionId: r.criterionId, levelId: r.levelId, comment: r.comment?.trim() || null })) ?? null;
      await em.execute(
        `update attempt_items set score = ?, needs_grading = false, rubric = ?::jsonb, comment = ?, graded_by = ?, graded_at = clock_timestamp(), graded_version_id = version_id
          where tenant_id = ? and attempt_id = ? and position = ?`,
        [graded.score, rubric ? JSON.stringify(rubric) : null, comment, actor.userId, tenantId, attemptId, input.position],
      );
      await recordGradeChange(em, tenantId, { attemptId, position: input.position, kind: 'MANUAL_GRADED', fromScore: item.score, toScore: graded.score, changedBy: actor.userId, reason: null });
      await settle(em, tenantId, attempt, 'MANUAL_GRADED', actor.userId);
      return { attemptId, errors: [] };
    });
  }

  async overrideGrade(input: OverrideGradeInput): Promise<MutationResult> {
    const { actor, viewer } = this.#deps;
    requireGrader(actor);
    const attemptId = inputId(input.attemptId, 'Attempt', 'attemptId');
    const reason = input.reason.trim();
    if (reason.length > 2000) throw badInput('reason must be at most 2000 characters', 'reason');
    const score = input.score ?? null;
    if (score !== null && (!Number.isFinite(score) || score < 0)) throw badInput('score must be 0 or more', 'score');
    return runMutation({ ...this.#deps, actor }, 'overrideGrade', input, async (em, tenantId) => {
      const attempt = await gradedAttempt(em, tenantId, attemptId, viewer);
      if (!reason) return { attemptId, errors: [assessmentError('REASON_REQUIRED', 'An override needs a reason', 'reason')] };
      if (attempt.status !== 'GRADED') return { attemptId, errors: [assessmentError('ATTEMPT_NOT_SUBMITTED', 'Only a graded attempt can be overridden (grade its essays first)')] };
      if (score !== null && score > attempt.maxScore) throw badInput(`score must be at most the attempt's maximum, ${attempt.maxScore}`, 'score');
      const before = finalScore(attempt);
      const next = score === null ? null : round4(score);
      await em.execute(`update attempts set override_score = ?, graded_at = clock_timestamp(), updated_at = now() where tenant_id = ? and id = ?`, [next, tenantId, attemptId]);
      const after = { ...attempt, overrideScore: next };
      await recordGradeChange(em, tenantId, { attemptId, position: null, kind: 'OVERRIDDEN', fromScore: before, toScore: finalScore(after), changedBy: actor.userId, reason });
      await gradeEvents(em, tenantId, [{ attempt: after, quiz: attempt.quiz }], 'OVERRIDDEN');
      return { attemptId, errors: [] };
    });
  }

  async regradeQuestion(input: RegradeQuestionInput): Promise<MutationResult> {
    const { actor, viewer } = this.#deps;
    requireGrader(actor);
    if (!viewer.gradesAll) throw forbidden('Only an ORG_ADMIN can regrade a question (it changes every cohort\'s grades)');
    const questionId = inputId(input.questionId, 'Question', 'questionId');
    return runMutation({ ...this.#deps, actor }, 'regradeQuestion', input, async (em, tenantId) => {
      const plan = await planRegrade(em, tenantId, questionId);
      const changes = plan.attempts.map((a) => ({ attemptId: a.attempt.id, oldScore: a.oldScore, newScore: a.newScore, overridden: a.attempt.overrideScore !== null }));
      if (input.dryRun) return { applied: false, changes, errors: [] };
      await applyRegrade(em, tenantId, plan, actor);
      return { applied: true, changes, errors: [] };
    });
  }
}

/** After an item grade changed: the attempt becomes (or stays) GRADED with the sum of its items once none waits. */
async function settle(em: EntityManager, tenantId: string, attempt: AttemptView & { quiz: QuizView }, kind: 'MANUAL_GRADED', by: string | null) {
  const [r] = await em.execute<Row[]>(
    `select count(*) filter (where needs_grading)::int as waiting, coalesce(sum(score), 0) as total from attempt_items where tenant_id = ? and attempt_id = ?`,
    [tenantId, attempt.id],
  );
  if (Number(r!.waiting) > 0) return;
  const score = round4(Number(r!.total));
  if (attempt.status === 'GRADED' && attempt.score === score) return;
  await em.execute(`update attempts set status = 'GRADED', score = ?, graded_at = clock_timestamp(), updated_at = now() where tenant_id = ? and id = ?`, [score, tenantId, attempt.id]);
  await recordGradeChange(em, tenantId, { attemptId: attempt.id, position: null, kind, fromScore: attempt.score, toScore: score, changedBy: by, reason: null });
  await gradeEvents(em, tenantId, [{ attempt: { ...attempt, status: 'GRADED', score }, quiz: attempt.quiz }], kind);
}

interface RegradePlan {
  versionId: string;
  definition: QuestionDefinition;
  attempts: {
    attempt: AttemptView & { quizId: string };
    oldScore: number | null;
    newScore: number | null;
    newMax: number;
    items: { position: number; oldScore: number | null; newScore: number; maxScore: number }[];
  }[];
}

/**
 * What regrading the question changes: each submitted attempt holding an answer graded with an
 * earlier version, its items' new scores under the current version, its old and new score.
 * Locks those attempts (the plan holds until the transaction ends).
 */
async function planRegrade(em: EntityManager, tenantId: string, questionId: string): Promise<RegradePlan> {
  const [current] = await em.execute<Row[]>(
    `select v.id, v.definition from questions q join question_versions v on v.tenant_id = q.tenant_id and v.question_id = q.id and v.number = q.current_version
      where q.tenant_id = ? and v.tenant_id = ? and q.id = ?`,
    [tenantId, tenantId, questionId],
  );
  if (!current) throw new Refusal(assessmentError('QUESTION_NOT_FOUND', 'No such question', 'questionId'));
  const versionId = String(current.id);
  const definition = definitionOf(current.definition);
  if (definition.type === 'ESSAY') throw new Refusal(assessmentError('REGRADE_INCOMPATIBLE', 'Essays are graded by hand: grade the answers again instead', 'questionId'));
  const attemptRows = await em.execute<Row[]>(
    `select a.* from attempts a where a.tenant_id = ? and a.status <> 'IN_PROGRESS'
        and exists (select 1 from attempt_items i where i.tenant_id = ? and i.attempt_id = a.id and i.question_id = ? and i.graded_version_id is distinct from ?)
      order by a.seq for update`,
    [tenantId, tenantId, questionId, versionId],
  );
  const attempts = attemptRows.map((r) => attemptRow(r));
  const ids = attempts.map((a) => a.id);
  const itemRows = ids.length
    ? await em.execute<Row[]>(`select * from attempt_items where tenant_id = ? and question_id = ? and attempt_id = any(${arr(ids, 'uuid')}) order by attempt_id, position`, [tenantId, questionId, ...ids])
    : [];
  const byAttempt = new Map<string, ReturnType<typeof itemRow>[]>();
  for (const r of itemRows) {
    const i = itemRow(r);
    (byAttempt.get(i.attemptId) ?? byAttempt.set(i.attemptId, []).get(i.attemptId)!).push(i);
  }
  const newMaxItem = maxPoints(definition);
  return {
    versionId,
    definition,
    attempts: attempts.map((attempt) => {
      const items = (byAttempt.get(attempt.id) ?? []).map((i) => {
        if (i.answer && !parseAnswer(definition, rawAnswerOf(i.answer)).ok) {
          throw new Refusal(assessmentError('REGRADE_INCOMPATIBLE', `An answer of attempt ${attempt.id} (position ${i.position}) no longer fits the question: keep option and item ids across versions`, 'questionId'));
        }
        return { position: i.position, oldScore: i.score, newScore: grade(definition, i.answer).score ?? 0, maxScore: i.maxScore };
      });
      const delta = items.reduce((s, i) => s + i.newScore - (i.oldScore ?? 0), 0);
      const maxDelta = items.reduce((s, i) => s + newMaxItem - i.maxScore, 0);
      const graded = attempt.status === 'GRADED' && attempt.score !== null;
      return {
        attempt,
        oldScore: graded ? attempt.score : null,
        newScore: graded ? round4(attempt.score! + delta) : null,
        newMax: round4(attempt.maxScore + maxDelta),
        items,
      };
    }),
  };
}

async function applyRegrade(em: EntityManager, tenantId: string, plan: RegradePlan, actor: Member): Promise<void> {
  const newMaxItem = maxPoints(plan.definition);
  for (const a of plan.attempts) {
    await writeItemGrades(em, tenantId, a.items.map((i) => ({ attemptId: a.attempt.id, position: i.position, score: i.newScore, needsGrading: false, gradedVersionId: plan.versionId })));
    await em.execute(`update attempt_items set max_score = ? where tenant_id = ? and attempt_id = ? and position = any(${arr(a.items.map((i) => i.position), 'int')})`, [
      newMaxItem,
      tenantId,
      a.attempt.id,
      ...a.items.map((i) => i.position),
    ]);
    for (const i of a.items) {
      if (i.oldScore !== i.newScore) {
        await recordGradeChange(em, tenantId, { attemptId: a.attempt.id, position: i.position, kind: 'REGRADED', fromScore: i.oldScore, toScore: i.newScore, changedBy: actor.userId, reason: null });
      }
    }
    await em.execute(`update attempts set score = coalesce(?, score), max_score = ?, updated_at = now() where tenant_id = ? and id = ?`, [a.newScore, a.newMax, tenantId, a.attempt.id]);
    if (a.newScore !== null && a.newScore !== a.oldScore) {
      await em.execute(`update attempts set graded_at = clock_timestamp() where tenant_id = ? and id = ?`, [tenantId, a.attempt.id]);
      await recordGradeChange(em, tenantId, { attemptId: a.attempt.id, position: null, kind: 'REGRADED', fromScore: a.oldScore, toScore: a.newScore, changedBy: actor.userId, reason: null });
      const [q] = await em.execute<Row[]>(`select * from quizzes where tenant_id = ? and id = ?`, [tenantId, a.attempt.quizId]);
      await gradeEvents(em, tenantId, [{ attempt: { ...a.attempt, score: a.newScore, maxScore: a.newMax }, quiz: quizRow(q!) }], 'REGRADED');
    }
  }
}
