// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Queries run
// in the request's unit of work (RLS) and name the tenant themselves (raw SQL).
//
// Visibility is decided in the same statements (access.ts): a quiz row comes with whether the
// caller, as a learner, holds an active seat in its course; an attempt row with whether the
// caller oversees it (teaches its learner's cohort, or sees every attempt). Pages of many
// parents at once are the kernel's childPages / childCounts (one statement per relation).
import { DataLoader, manyLoader, mapConnection, oneLoader, pageRequest, toConnection, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import { childCounts, childPages, type KeysetColumn, type PageRequest } from '@lectern/kernel/pagination';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { timestamp } from '@lectern/kernel/rows';
import { overseesSql, type Viewer } from './access.ts';
import { accommodationJoins } from './modules/attempt/attempt.store.ts';
import {
  accommodationRow, attemptRow, bankRow, gradeChangeRow, itemRow, questionRow, quizItemRow, quizRow, versionRow,
  type AccommodationView, type AttemptView, type BankView, type GradeChangeView, type ItemView, type QuestionView, type QuizItemView, type QuizView, type VersionView,
} from './views.ts';

type Row = Record<string, unknown>;
const NO_ONE = '00000000-0000-0000-0000-000000000000';
const yes = (v: unknown) => v === true || v === 't' || v === 'true';

/** SQL: the viewer (parameters: tenant, user) holds an active seat in quiz row `q`'s course. */
export const ENROLLED_SQL = `exists (select 1 from roster_enrollments re where re.tenant_id = ? and re.learner_id = ?::uuid and re.course_id = q.course_id and re.status = 'ACTIVE')`;

/** A list a client pages: its table (read as `t`), parent column and keyset order. */
interface Relation {
  table: string;
  parentColumn: string;
  order: readonly KeysetColumn[];
  cursor: (r: Row) => (string | number)[];
}
const bySeq = { order: [{ expr: 't.seq', type: 'bigint' }], cursor: (r: Row) => [Number(r.seq)] } as const;
const RELATIONS = {
  banks: { table: 'question_banks', parentColumn: 'tenant_id', ...bySeq },
  bankQuestions: { table: 'questions', parentColumn: 'bank_id', ...bySeq },
  quizAttempts: { table: 'attempts', parentColumn: 'quiz_id', ...bySeq },
  // Oldest submission first (submitted_at is set for every attempt the queue holds).
  gradingQueue: {
    table: 'attempts',
    parentColumn: 'tenant_id',
    order: [{ expr: 't.submitted_at', type: 'timestamptz' }, { expr: 't.seq', type: 'bigint' }],
    cursor: (r: Row) => [timestamp(r.submitted_at).toISOString(), Number(r.seq)],
  },
} as const satisfies Record<string, Relation>;
type RelationName = keyof typeof RELATIONS;

/** One page asked for: the relation, its parent, the page arguments and a filter (SQL on `t` + its parameters). */
interface PageKey {
  rel: RelationName;
  id: string;
  args: PageArgs;
  where: { sql: string; params: unknown[] };
}
const filterKey = (k: Pick<PageKey, 'rel' | 'where'>) => JSON.stringify([k.rel, k.where.sql, k.where.params]);

export function createLoaders(uow: UnitOfWork, tenantId: string | null, viewer: Viewer) {
  const tenant = tenantId ?? NO_ONE;
  const user = viewer.userId ?? NO_ONE;
  const statement = (sql: string, params: unknown[]) => uow.statement<Row>(sql, params);
  const ids = (keys: readonly string[]) => arr([...keys], 'uuid');

  const counts = new DataLoader<PageKey, number, string>(
    async (keys) => {
      const out = new Array<number>(keys.length).fill(0);
      const groups = new Map<string, number[]>();
      keys.forEach((k, i) => (groups.get(filterKey(k)) ?? groups.set(filterKey(k), []).get(filterKey(k))!).push(i));
      for (const idx of groups.values()) {
        const first = keys[idx[0]!]!;
        const { table, parentColumn } = RELATIONS[first.rel];
        const n = await childCounts(statement, { table, parentColumn, tenantId: tenant }, idx.map((i) => keys[i]!.id), first.where);
        idx.forEach((i, k) => (out[i] = n[k]!));
      }
      return out;
    },
    { cacheKeyFn: (k) => `${filterKey(k)}|${k.id}` },
  );

  const pages = new DataLoader<PageKey, Connection<Row>, string>(
    async (keys) => {
      const requests = keys.map((k) => {
        try {
          return pageRequest(k.args, RELATIONS[k.rel].order.length);
        } catch (err) {
          return err as Error;
        }
      });
      const out: (Connection<Row> | Error)[] = requests.map((r) => (r instanceof Error ? r : (null as unknown as Connection<Row>)));
      const groups = new Map<RelationName, number[]>();
      keys.forEach((k, i) => {
        if (!(requests[i] instanceof Error)) (groups.get(k.rel) ?? groups.set(k.rel, []).get(k.rel)!).push(i);
      });
      for (const [rel, idx] of groups) {
        const { table, parentColumn, order, cursor } = RELATIONS[rel];
        // Newest first for attempt lists (read backward by seq), oldest first otherwise.
        const newestFirst = rel === 'quizAttempts';
        const asked = idx.map((i) => {
          const page = requests[i] as PageRequest;
          return { parentId: keys[i]!.id, page, ascending: newestFirst ? page.backward : !page.backward, where: keys[i]!.where };
        });
        const rows = await childPages(statement, { table, parentColumn, tenantId: tenant, order }, asked);
        idx.forEach((i, n) => {
          const k = keys[i]!;
          out[i] = toConnection(rows[n]!, asked[n]!.page, cursor, () => counts.load({ ...k, args: {} }));
        });
      }
      return out;
    },
    { cacheKeyFn: (k) => JSON.stringify([filterKey(k), k.id, k.args.first ?? null, k.args.after ?? null, k.args.last ?? null, k.args.before ?? null]) },
  );

  /** Attempts (any of the organization's) with whether the caller oversees each. */
  const attemptAccess = oneLoader<string, AttemptView>(
    async (keys) =>
      (await statement(`select a.*, ${overseesSql('a')} as overseen from attempts a where a.tenant_id = ? and a.id = any(${ids(keys)})`, [viewer.all, tenant, user, tenant, ...keys])).map((r) =>
        attemptRow(r, yes(r.overseen)),
      ),
    (a) => a.id,
  );

  const quizAccess = oneLoader<string, QuizView & { enrolled: boolean }>(
    async (keys) =>
      (await statement(`select q.*, ${ENROLLED_SQL} as enrolled from quizzes q where q.tenant_id = ? and q.id = any(${ids(keys)})`, [tenant, user, tenant, ...keys])).map((r) => ({
        ...quizRow(r),
        enrolled: yes(r.enrolled),
      })),
    (q) => q.id,
  );

  /** Whether the caller may see quiz `q`: authors all, learners published quizzes of their courses. */
  const seesQuiz = (q: QuizView & { enrolled: boolean }) => viewer.author || (q.published && q.enrolled);

  const overseenWhere = (): { sql: string; params: unknown[] } =>
    viewer.all ? { sql: '', params: [] } : { sql: ` and ${overseesSql('t')}`, params: [false, tenant, user] };

  const loaders = {
    attemptAccess,
    quizAccess,
    /** An attempt the caller may see (their own, or one they oversee); null otherwise. */
    attempt: new DataLoader<string, AttemptView | null>(async (keys) =>
      (await attemptAccess.loadMany(keys)).map((a) => (a instanceof Error ? a : a && (a.learnerId === viewer.userId || a.overseen) ? a : null)),
    ),
    /** A quiz the caller may see; null otherwise. */
    quiz: new DataLoader<string, QuizView | null>(async (keys) => (await quizAccess.loadMany(keys)).map((q) => (q instanceof Error ? q : q && seesQuiz(q) ? q : null))),
    /** A course's quizzes the caller may see, oldest first. */
    courseQuizzes: manyLoader<string, QuizView>(
      async (keys) =>
        (await statement(`select q.*, ${ENROLLED_SQL} as enrolled from quizzes q where q.tenant_id = ? and q.course_id = any(${ids(keys)}) order by q.seq`, [tenant, user, tenant, ...keys]))
          .map((r) => ({ ...quizRow(r), enrolled: yes(r.enrolled) }))
          .filter(seesQuiz),
      (q) => q.courseId,
    ),
    bank: oneLoader<string, BankView>(async (keys) => (await statement(`select * from question_banks where tenant_id = ? and id = any(${ids(keys)})`, [tenant, ...keys])).map(bankRow), (b) => b.id),
    question: oneLoader<string, QuestionView>(async (keys) => (await statement(`select * from questions where tenant_id = ? and id = any(${ids(keys)})`, [tenant, ...keys])).map(questionRow), (q) => q.id),
    version: oneLoader<string, VersionView>(async (keys) => (await statement(`select * from question_versions where tenant_id = ? and id = any(${ids(keys)})`, [tenant, ...keys])).map(versionRow), (v) => v.id),
    /** Each question's versions, oldest first. */
    versions: manyLoader<string, VersionView>(
      async (keys) => (await statement(`select * from question_versions where tenant_id = ? and question_id = any(${ids(keys)}) order by question_id, number`, [tenant, ...keys])).map(versionRow),
      (v) => v.questionId,
    ),
    /** Each question's current version. */
    currentVersion: oneLoader<string, VersionView>(
      async (keys) =>
        (
          await statement(
            `select v.* from questions q join question_versions v on v.tenant_id = q.tenant_id and v.question_id = q.id and v.number = q.current_version
              where q.tenant_id = ? and v.tenant_id = ? and q.id = any(${ids(keys)})`,
            [tenant, tenant, ...keys],
          )
        ).map(versionRow),
      (v) => v.questionId,
    ),
    /** Each quiz's fixed questions and draws, by position. */
    quizItems: manyLoader<string, QuizItemView>(
      async (keys) => (await statement(`select * from quiz_items where tenant_id = ? and quiz_id = any(${ids(keys)}) order by quiz_id, position`, [tenant, ...keys])).map(quizItemRow),
      (i) => i.quizId,
    ),
    /** The caller's own attempts at each quiz, oldest first. */
    viewerAttempts: manyLoader<string, AttemptView>(
      async (keys) =>
        (await statement(`select a.* from attempts a where a.tenant_id = ? and a.learner_id = ?::uuid and a.quiz_id = any(${ids(keys)}) order by a.quiz_id, a.number`, [tenant, user, ...keys])).map((r) =>
          attemptRow(r),
        ),
      (a) => a.quizId,
    ),
    /** Attempts started per quiz by the caller (the counter the limit is enforced on). */
    viewerStarted: oneLoader<string, { quizId: string; started: number }>(
      async (keys) =>
        (await statement(`select quiz_id, started from attempt_counters where tenant_id = ? and learner_id = ?::uuid and quiz_id = any(${ids(keys)})`, [tenant, user, ...keys])).map((r) => ({
          quizId: String(r.quiz_id),
          started: Number(r.started),
        })),
      (r) => r.quizId,
    ),
    /** The effective accommodation of the caller per quiz (the quiz's, else its course's). */
    viewerAccommodation: oneLoader<string, { quizId: string; extraAttempts: number }>(
      async (keys) =>
        (
          await statement(
            `select q.id as quiz_id, coalesce(aq.extra_attempts, ac.extra_attempts, 0) as extra_attempts
               from quizzes q ${accommodationJoins('?::uuid')}
              where q.tenant_id = ? and q.id = any(${ids(keys)})`,
            [user, user, tenant, ...keys],
          )
        ).map((r) => ({ quizId: String(r.quiz_id), extraAttempts: Number(r.extra_attempts) })),
      (r) => r.quizId,
    ),
    /** Each attempt's questions, in the order shown. */
    items: manyLoader<string, ItemView>(
      async (keys) => (await statement(`select * from attempt_items where tenant_id = ? and attempt_id = any(${ids(keys)}) order by attempt_id, position`, [tenant, ...keys])).map(itemRow),
      (i) => i.attemptId,
    ),
    /** Each attempt's grade history, oldest first. */
    gradeHistory: manyLoader<string, GradeChangeView>(
      async (keys) => (await statement(`select * from grade_changes where tenant_id = ? and attempt_id = any(${ids(keys)}) order by attempt_id, seq`, [tenant, ...keys])).map(gradeChangeRow),
      (g) => g.attemptId,
    ),
    accommodation: oneLoader<string, AccommodationView>(
      async (keys) => (await statement(`select * from accommodations where tenant_id = ? and id = any(${ids(keys)})`, [tenant, ...keys])).map(accommodationRow),
      (a) => a.id,
    ),
    /** Accommodations that apply to each quiz (its own and its course's), by learner. */
    quizAccommodations: manyLoader<string, AccommodationView & { forQuiz: string }>(
      async (keys) =>
        (
          await statement(
            `select q.id as for_quiz, x.* from quizzes q join accommodations x on x.tenant_id = q.tenant_id and (x.quiz_id = q.id or x.course_id = q.course_id)
              where q.tenant_id = ? and x.tenant_id = ? and q.id = any(${ids(keys)}) order by q.id, x.learner_id, x.quiz_id nulls last`,
            [tenant, tenant, ...keys],
          )
        ).map((r) => ({ ...accommodationRow(r), forQuiz: String(r.for_quiz) })),
      (a) => a.forQuiz,
    ),
    pages,
    counts,
    /** The organization's banks, oldest first. */
    banks: async (args: PageArgs) => mapConnection(await pages.load({ rel: 'banks', id: tenant, args, where: { sql: '', params: [] } }), bankRow),
    /** A page of a bank's questions (filtered). */
    bankQuestions: async (bankId: string, args: PageArgs, filter: { tag: string | null; type: string | null; includeArchived: boolean }) => {
      const where = { sql: '', params: [] as unknown[] };
      if (!filter.includeArchived) where.sql += ' and t.archived_at is null';
      if (filter.tag) {
        where.sql += ' and ?::text = any(t.tags)';
        where.params.push(filter.tag);
      }
      if (filter.type) {
        where.sql += ' and t.type = ?';
        where.params.push(filter.type);
      }
      return mapConnection(await pages.load({ rel: 'bankQuestions', id: bankId, args, where }), questionRow);
    },
    /** A page of a quiz's attempts the caller oversees, newest first. */
    quizAttempts: async (quizId: string, args: PageArgs, filter: { learnerId: string | null; status: string | null }) => {
      const where = overseenWhere();
      const extra = { sql: where.sql, params: [...where.params] };
      if (filter.learnerId) {
        extra.sql += ' and t.learner_id = ?';
        extra.params.push(filter.learnerId);
      }
      if (filter.status) {
        extra.sql += ' and t.status = ?';
        extra.params.push(filter.status);
      }
      return mapConnection(await pages.load({ rel: 'quizAttempts', id: quizId, args, where: extra }), (r) => attemptRow(r, true));
    },
    /** Submitted attempts with essays waiting, the caller oversees, oldest submission first. */
    gradingQueue: async (quizId: string | null, args: PageArgs) => {
      const where = overseenWhere();
      const extra = { sql: ` and t.status = 'SUBMITTED'${where.sql}`, params: [...where.params] };
      if (quizId) {
        extra.sql += ' and t.quiz_id = ?';
        extra.params.push(quizId);
      }
      return mapConnection(await pages.load({ rel: 'gradingQueue', id: tenant, args, where: extra }), (r) => attemptRow(r, true));
    },
  };
  const all: { clearAll(): unknown }[] = Object.values(loaders).filter((l): l is DataLoader<never, never> => l instanceof DataLoader);
  return {
    ...loaders,
    /** Forgets everything loaded so far: a mutation's payload must show the state it left. */
    clearAll() {
      for (const loader of all) loader.clearAll();
    },
  };
}

export type AssessmentLoaders = ReturnType<typeof createLoaders>;
