// Item and quiz statistics over graded attempts the caller oversees (instructors: their
// cohorts' learners; ORG_ADMIN: everyone): the responses are read in one statement per batch
// of question versions or quizzes, the arithmetic is modules/grading/statistics.ts.
import { DataLoader, type UnitOfWork } from '@lectern/kernel';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { overseesSql, type Viewer } from '../../access.ts';
import { definitionOf } from '../../views.ts';
import { answerSchema, type Answer } from '../grading/answer.ts';
import type { QuestionDefinition } from '../grading/question.ts';
import { itemStatistics, quizStatistics, type ItemResponse, type ItemStatistics, type QuizStatistics } from '../grading/statistics.ts';

type Row = Record<string, unknown>;
const NO_ONE = '00000000-0000-0000-0000-000000000000';

/** The options whose choice counts are reported (choice questions; TRUE_FALSE as 'true' / 'false'). */
function optionIds(def: QuestionDefinition): string[] {
  if (def.type === 'SINGLE_CHOICE' || def.type === 'MULTIPLE_CHOICE') return def.options.map((o) => o.id);
  if (def.type === 'TRUE_FALSE') return ['true', 'false'];
  return [];
}

function choicesOf(a: Answer | null): string[] | null {
  if (!a) return null;
  if (a.type === 'SINGLE_CHOICE') return [a.choiceId];
  if (a.type === 'MULTIPLE_CHOICE') return a.choiceIds;
  if (a.type === 'TRUE_FALSE') return [String(a.value)];
  return null;
}

const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

function responseOf(r: Row): ItemResponse {
  const itemMax = Number(r.item_max);
  const attemptMax = Number(r.attempt_max);
  return {
    attemptId: String(r.attempt_id),
    itemFraction: itemMax > 0 ? Math.min(1, Number(r.item_score ?? 0) / itemMax) : 0,
    attemptFraction: attemptMax > 0 ? Math.min(1, Number(r.attempt_score ?? 0) / attemptMax) : 0,
    choiceIds: r.answer == null ? null : choicesOf(answerSchema.parse(json(r.answer)) as Answer),
  };
}

export interface QuizStats extends QuizStatistics {
  items: { versionId: string; statistics: ItemStatistics }[];
}

export function createStatisticsLoaders(uow: UnitOfWork, tenantId: string | null, viewer: Viewer) {
  const tenant = tenantId ?? NO_ONE;
  const user = viewer.userId ?? NO_ONE;
  const responses = (where: string, keys: readonly string[]) =>
    uow.statement<Row>(
      `select i.version_id, a.quiz_id, i.attempt_id, i.score as item_score, i.max_score as item_max, i.answer, v.definition,
              coalesce(a.override_score, a.score) as attempt_score, a.max_score as attempt_max
         from attempt_items i
         join attempts a on a.tenant_id = i.tenant_id and a.id = i.attempt_id
         join question_versions v on v.tenant_id = i.tenant_id and v.id = i.version_id
        where i.tenant_id = ? and a.tenant_id = ? and v.tenant_id = ? and a.status = 'GRADED' and ${where} = any(${arr([...keys], 'uuid')}) and ${overseesSql('a')}
        order by i.version_id`,
      [tenant, tenant, tenant, ...keys, viewer.all, tenant, user],
    );

  const stats = (rows: Row[]): { versionId: string; statistics: ItemStatistics }[] => {
    const byVersion = new Map<string, { def: QuestionDefinition; rows: ItemResponse[] }>();
    for (const r of rows) {
      const v = String(r.version_id);
      const entry = byVersion.get(v) ?? byVersion.set(v, { def: definitionOf(r.definition), rows: [] }).get(v)!;
      entry.rows.push(responseOf(r));
    }
    return [...byVersion].map(([versionId, e]) => ({ versionId, statistics: itemStatistics(e.rows, optionIds(e.def)) }));
  };

  return {
    /** Item statistics of each question version (zero attempts when none). */
    versionStatistics: new DataLoader<string, ItemStatistics>(async (keys) => {
      const byVersion = new Map(stats(await responses('i.version_id', keys)).map((s) => [s.versionId, s.statistics]));
      return keys.map((k) => byVersion.get(k) ?? itemStatistics([], []));
    }),
    /** Score distribution and item statistics of each quiz. */
    quizStatistics: new DataLoader<string, QuizStats>(async (keys) => {
      const rows = await responses('a.quiz_id', keys);
      return keys.map((quizId) => {
        const mine = rows.filter((r) => String(r.quiz_id) === quizId);
        const attempts = new Map<string, number>();
        for (const r of mine) attempts.set(String(r.attempt_id), responseOf(r).attemptFraction);
        return { ...quizStatistics([...attempts.values()]), items: stats(mine) };
      });
    }),
  };
}
