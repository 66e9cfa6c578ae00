// Quizzes as the API shows them (learners see published quizzes of their courses; authors
// every quiz), the course's quizzes, the caller's standing, and the quiz mutations.
import { emptyConnection, entityRef, globalIdOf, idOf, type PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import { finalScore, must, type AttemptView, type QuizView } from '../../views.ts';
import { quizGrade } from '../grading/grading-method.ts';
import { learnerSeesScore } from '../attempt/review.ts';

type Input<T> = { input: T };
type Quizzes = Context['quizzes'];

const quizById = (id: string, ctx: Context) => {
  const uuid = idOf(id, 'Quiz');
  return uuid ? ctx.loaders.quiz.load(uuid) : null;
};

export const quizResolvers = {
  Query: {
    quiz: (_: unknown, a: { id: string }, ctx: Context) => quizById(a.id, ctx),
  },
  Mutation: {
    createQuiz: (_: unknown, { input }: Input<Parameters<Quizzes['createQuiz']>[0]>, ctx: Context) => ctx.quizzes.createQuiz(input),
    updateQuiz: (_: unknown, { input }: Input<Parameters<Quizzes['updateQuiz']>[0]>, ctx: Context) => ctx.quizzes.updateQuiz(input),
  },
  Course: {
    // Catalog's entity: assessment adds its quizzes (the id stays catalog's global id).
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'Course') ? { id: ref.id } : null),
    quizzes: (c: { id: string }, _: unknown, ctx: Context) => {
      const uuid = idOf(c.id, 'Course');
      return uuid ? ctx.loaders.courseQuizzes.load(uuid) : [];
    },
  },
  Quiz: {
    __resolveReference: (ref: { id: string }, ctx: Context) => quizById(ref.id, ctx),
    id: globalIdOf('Quiz'),
    course: (q: QuizView) => entityRef('Course', q.courseId),
    timeLimitMinutes: (q: QuizView) => (q.timeLimitSeconds === null ? null : q.timeLimitSeconds / 60),
    passPercent: (q: QuizView) => Math.round(q.passFraction * 100 * 10000) / 10000,
    questions: async (q: QuizView, _: unknown, ctx: Context) =>
      ctx.viewer.author
        ? (await ctx.loaders.quizItems.load(q.id)).filter((i) => i.questionId).map((i) => ({ position: i.position, questionId: i.questionId! }))
        : [],
    draws: async (q: QuizView, _: unknown, ctx: Context) =>
      ctx.viewer.author ? (await ctx.loaders.quizItems.load(q.id)).filter((i) => i.drawCount).map((i) => ({ position: i.position, count: i.drawCount!, bankId: i.drawBankId, tag: i.drawTag })) : [],
    viewerAttempts: (q: QuizView, _: unknown, ctx: Context) => (ctx.viewer.userId ? ctx.loaders.viewerAttempts.load(q.id) : []),
    viewerStanding: async (q: QuizView, _: unknown, ctx: Context) => {
      if (!ctx.viewer.userId) return null;
      const [attempts, started, acc] = await Promise.all([ctx.loaders.viewerAttempts.load(q.id), ctx.loaders.viewerStarted.load(q.id), ctx.loaders.viewerAccommodation.load(q.id)]);
      const used = started?.started ?? 0;
      const allowed = q.attemptsAllowed === null ? null : q.attemptsAllowed + (acc?.extraAttempts ?? 0);
      const visible = attempts.filter((a) => a.status === 'GRADED' && learnerSeesScore(q, new Date()));
      const grade = quizGrade(
        q.gradingMethod,
        visible.map((a) => ({ number: a.number, fraction: a.maxScore > 0 ? (finalScore(a) ?? 0) / a.maxScore : 0 })),
      );
      return {
        attemptsUsed: used,
        attemptsLeft: allowed === null ? null : Math.max(0, allowed - used),
        gradePercent: grade === null ? null : Math.round(grade * 100 * 100) / 100,
        passed: grade === null ? null : grade + 1e-9 >= q.passFraction,
      };
    },
    attempts: (q: QuizView, a: PageArgs & { learnerId?: string | null; status?: string | null }, ctx: Context) => {
      if (!ctx.viewer.author) return emptyConnection<AttemptView>();
      const learnerId = a.learnerId ? idOf(a.learnerId, 'User') : null;
      if (a.learnerId && !learnerId) return emptyConnection<AttemptView>();
      return ctx.loaders.quizAttempts(q.id, a, { learnerId, status: a.status ?? null });
    },
    statistics: async (q: QuizView, _: unknown, ctx: Context) => {
      if (!ctx.viewer.author) return null;
      const s = await ctx.statistics.quizStatistics.load(q.id);
      const pct = (x: number | null) => (x === null ? null : Math.round(x * 100 * 100) / 100);
      return {
        attempts: s.attempts,
        meanPercent: pct(s.mean),
        medianPercent: pct(s.median),
        distribution: s.distribution.map((b) => ({ fromPercent: Math.round(b.from * 100), toPercent: Math.round(b.to * 100), count: b.count })),
        items: s.items.map((i) => ({ versionId: i.versionId, statistics: i.statistics })),
      };
    },
    accommodations: (q: QuizView, _: unknown, ctx: Context) => (ctx.viewer.author ? ctx.loaders.quizAccommodations.load(q.id) : []),
  },
  QuizQuestion: {
    question: (i: { questionId: string }, _: unknown, ctx: Context) => must(ctx.loaders.question.load(i.questionId), 'question'),
  },
  QuizDraw: {
    bank: (d: { bankId: string | null }, _: unknown, ctx: Context) => (d.bankId ? ctx.loaders.bank.load(d.bankId) : null),
  },
  QuizItemStatistics: {
    questionVersion: (i: { versionId: string }, _: unknown, ctx: Context) => must(ctx.loaders.version.load(i.versionId), 'question version'),
  },
};
