// Mutation payloads: each resolves from the mutation's stored MutationResult (ids and typed
// errors; a replay gets the same), loading the objects as they are now.
import { entityRef, globalIdOf, idOf } from '@lectern/kernel';
import type { Context } from './context.ts';
import type { MutationResult } from './errors.ts';

const errors = { errors: (r: MutationResult) => r.errors };
const attempt = (r: MutationResult, _: unknown, ctx: Context) => (r.attemptId ? ctx.loaders.attempt.load(r.attemptId) : null);

export const payloadResolvers = {
  UserError: { __resolveType: () => 'AssessmentError' as const },
  QuestionBankPayload: { ...errors, bank: (r: MutationResult, _: unknown, ctx: Context) => (r.bankId ? ctx.loaders.bank.load(r.bankId) : null) },
  QuestionPayload: { ...errors, question: (r: MutationResult, _: unknown, ctx: Context) => (r.questionId ? ctx.loaders.question.load(r.questionId) : null) },
  QuizPayload: { ...errors, quiz: (r: MutationResult, _: unknown, ctx: Context) => (r.quizId ? ctx.loaders.quiz.load(r.quizId) : null) },
  StartAttemptPayload: { ...errors, attempt },
  AttemptPayload: { ...errors, attempt },
  RegradeQuestionPayload: {
    ...errors,
    applied: (r: MutationResult) => r.applied ?? false,
    changes: async (r: MutationResult, _: unknown, ctx: Context) => {
      const found = await ctx.loaders.attemptAccess.loadMany((r.changes ?? []).map((c) => c.attemptId));
      // Regrading is ORG_ADMIN's: every attempt listed is theirs to see.
      return (r.changes ?? []).flatMap((c, i) => {
        const a = found[i];
        return a && !(a instanceof Error) ? [{ attempt: { ...a, overseen: true }, oldScore: c.oldScore, newScore: c.newScore, overridden: c.overridden }] : [];
      });
    },
  },
  AccommodationPayload: {
    ...errors,
    accommodation: (r: MutationResult, _: unknown, ctx: Context) => (r.accommodationId ? ctx.loaders.accommodation.load(r.accommodationId) : null),
    movedAttempts: async (r: MutationResult, _: unknown, ctx: Context) =>
      (await ctx.loaders.attemptAccess.loadMany(r.movedAttemptIds ?? [])).flatMap((a) => (a && !(a instanceof Error) ? [{ ...a, overseen: true }] : [])),
  },
  Accommodation: {
    id: globalIdOf('Accommodation'),
    learner: (a: { learnerId: string }) => entityRef('User', a.learnerId),
    course: (a: { courseId: string | null }) => (a.courseId ? entityRef('Course', a.courseId) : null),
    quiz: (a: { quizId: string | null }, _: unknown, ctx: Context) => (a.quizId ? ctx.loaders.quizAccess.load(a.quizId) : null),
    extensionMinutes: (a: { extensionSeconds: number }) => Math.round(a.extensionSeconds / 60),
    updatedBy: (a: { updatedBy: string | null }) => (a.updatedBy ? entityRef('User', a.updatedBy) : null),
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'Accommodation');
      return id && ctx.viewer.author ? ctx.loaders.accommodation.load(id) : null;
    },
  },
};
