// Attempts as the API shows them: to their learner (questions presented from the attempt's
// seed, never the key before the review settings allow) and to their graders (everything),
// plus the attempt, grading and accommodation mutations. Thin: parse, call, map.
import { entityRef, globalIdOf, idOf, type PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import { finalScore, must, type AttemptView, type GradeChangeView, type ItemView } from '../../views.ts';
import { rawAnswerOf } from '../grading/answer.ts';
import { grade } from '../grading/grade.ts';
import { correctAnswer, present, type PresentedQuestion } from '../grading/presentation.ts';
import { rngFrom } from '../grading/random.ts';
import { eyesOn } from './review.ts';

type Input<T> = { input: T };
type Attempts = Context['attempts'];
type Review = Context['review'];
type Accommodations = Context['accommodations'];

/** The key in the API's flat shape (AnswerKey). */
function keyValue(k: ReturnType<typeof correctAnswer>) {
  switch (k.type) {
    case 'SINGLE_CHOICE':
      return { choiceIds: [k.choiceId] };
    case 'MULTIPLE_CHOICE':
      return { choiceIds: k.choiceIds };
    case 'TRUE_FALSE':
      return { boolean: k.value };
    case 'SHORT_ANSWER':
      return { accepted: k.accepted };
    case 'NUMERIC':
      return { number: k.value, tolerance: k.tolerance, unit: k.unit };
    case 'MATCHING':
      return { pairs: k.pairs };
    case 'ORDERING':
      return { order: k.order };
    case 'FILL_IN_THE_BLANKS':
      return { blanks: k.blanks.map((b) => b.accepted) };
    case 'ESSAY':
      return null;
  }
}

const attemptById = (id: string, ctx: Context) => {
  const uuid = idOf(id, 'Attempt');
  return uuid ? ctx.loaders.attempt.load(uuid) : null;
};

/** The attempt's score as the caller may see it (null when hidden). */
async function visibleScore(a: AttemptView, ctx: Context): Promise<number | null> {
  if (a.status !== 'GRADED') return null;
  const quiz = await ctx.loaders.quizAccess.load(a.quizId);
  const eyes = quiz ? eyesOn(a, quiz) : 'LEARNER';
  return eyes === 'LEARNER' ? null : finalScore(a);
}

export const attemptResolvers = {
  Query: {
    attempt: (_: unknown, a: { id: string }, ctx: Context) => attemptById(a.id, ctx),
    gradingQueue: (_: unknown, a: PageArgs & { quizId?: string | null }, ctx: Context) => {
      const quizId = a.quizId ? idOf(a.quizId, 'Quiz') : null;
      return ctx.loaders.gradingQueue(a.quizId && !quizId ? '00000000-0000-0000-0000-000000000000' : quizId, a);
    },
  },
  Mutation: {
    startAttempt: (_: unknown, { input }: Input<Parameters<Attempts['startAttempt']>[0]>, ctx: Context) => ctx.attempts.startAttempt(input),
    saveAnswers: (_: unknown, { input }: Input<Parameters<Attempts['saveAnswers']>[0]>, ctx: Context) => ctx.attempts.saveAnswers(input),
    submitAttempt: (_: unknown, { input }: Input<Parameters<Attempts['submitAttempt']>[0]>, ctx: Context) => ctx.attempts.submitAttempt(input),
    gradeAnswer: (_: unknown, { input }: Input<Parameters<Review['gradeAnswer']>[0]>, ctx: Context) => ctx.review.gradeAnswer(input),
    overrideGrade: (_: unknown, { input }: Input<Parameters<Review['overrideGrade']>[0]>, ctx: Context) => ctx.review.overrideGrade(input),
    regradeQuestion: (_: unknown, { input }: Input<Parameters<Review['regradeQuestion']>[0]>, ctx: Context) => ctx.review.regradeQuestion(input),
    setAccommodation: (_: unknown, { input }: Input<Parameters<Accommodations['setAccommodation']>[0]>, ctx: Context) => ctx.accommodations.setAccommodation(input),
  },
  Attempt: {
    __resolveReference: (ref: { id: string }, ctx: Context) => attemptById(ref.id, ctx),
    id: globalIdOf('Attempt'),
    quiz: (a: AttemptView, _: unknown, ctx: Context) => must(ctx.loaders.quizAccess.load(a.quizId), 'quiz'),
    learner: (a: AttemptView) => entityRef('User', a.learnerId),
    score: (a: AttemptView, _: unknown, ctx: Context) => visibleScore(a, ctx),
    percent: async (a: AttemptView, _: unknown, ctx: Context) => {
      const s = await visibleScore(a, ctx);
      return s === null || a.maxScore <= 0 ? null : Math.round((s / a.maxScore) * 100 * 100) / 100;
    },
    passed: async (a: AttemptView, _: unknown, ctx: Context) => {
      const s = await visibleScore(a, ctx);
      const quiz = await ctx.loaders.quizAccess.load(a.quizId);
      return s === null || !quiz ? null : (a.maxScore > 0 ? s / a.maxScore : 0) + 1e-9 >= quiz.passFraction;
    },
    questions: async (a: AttemptView, _: unknown, ctx: Context) => {
      const [items, quiz] = await Promise.all([ctx.loaders.items.load(a.id), ctx.loaders.quizAccess.load(a.quizId)]);
      const eyes = quiz ? eyesOn(a, quiz) : 'LEARNER';
      // Each question presented once (from its version and the attempt's seed: the same every time).
      return Promise.all(
        items.map(async (item) => {
          const version = await must(ctx.loaders.version.load(item.versionId), 'question version');
          return { attempt: a, item, eyes, shown: present(version.definition, { shuffleOptions: a.shuffleOptions, rng: rngFrom(a.seed, 'options', String(item.position)) }) };
        }),
      );
    },
    gradeHistory: (a: AttemptView, _: unknown, ctx: Context) => (a.overseen ? ctx.loaders.gradeHistory.load(a.id) : []),
  },
  AttemptQuestion: {
    position: (q: AttemptQuestionParent) => q.item.position,
    questionVersion: (q: AttemptQuestionParent, _: unknown, ctx: Context) => (ctx.viewer.author ? ctx.loaders.version.load(q.item.versionId) : null),
    type: (q: AttemptQuestionParent) => q.shown.type,
    prompt: (q: AttemptQuestionParent) => q.shown.prompt,
    points: (q: AttemptQuestionParent) => q.item.maxScore,
    options: (q: AttemptQuestionParent) => q.shown.options ?? null,
    prompts: (q: AttemptQuestionParent) => q.shown.prompts ?? null,
    items: (q: AttemptQuestionParent) => q.shown.items ?? null,
    text: (q: AttemptQuestionParent) => q.shown.text ?? null,
    blankCount: (q: AttemptQuestionParent) => q.shown.blankCount ?? null,
    unit: (q: AttemptQuestionParent) => q.shown.unit ?? null,
    minWords: (q: AttemptQuestionParent) => q.shown.minWords ?? null,
    maxWords: (q: AttemptQuestionParent) => q.shown.maxWords ?? null,
    rubric: (q: AttemptQuestionParent) => q.shown.rubric ?? null,
    answer: (q: AttemptQuestionParent) => (q.item.answer ? rawAnswerOf(q.item.answer) : null),
    answeredAt: (q: AttemptQuestionParent) => q.item.answeredAt,
    grade: async (q: AttemptQuestionParent, _: unknown, ctx: Context) => {
      const { item, eyes } = q;
      if (eyes !== 'GRADER' && eyes !== 'LEARNER_ANSWERS') return null;
      if (q.attempt.status === 'IN_PROGRESS') return null;
      const version = await ctx.loaders.version.load(item.gradedVersionId ?? item.versionId);
      if (!version) return null;
      const def = version.definition;
      const full = grade(def, item.answer);
      return {
        score: item.needsGrading ? null : item.score,
        maxScore: item.maxScore,
        needsGrading: item.needsGrading,
        correct: def.type === 'ESSAY' ? null : full.fraction === 1,
        key: keyValue(correctAnswer(def)),
        explanation: def.explanation ?? null,
        rubric: item.rubric,
        comment: item.comment,
        gradedBy: item.gradedBy ? entityRef('User', item.gradedBy) : null,
      };
    },
  },
  GradeChange: {
    changedBy: (g: GradeChangeView) => (g.changedBy ? entityRef('User', g.changedBy) : null),
  },
  RegradeChange: {},
};

export interface AttemptQuestionParent {
  attempt: AttemptView;
  item: ItemView;
  eyes: ReturnType<typeof eyesOn>;
  /** The question as the attempt shows it (never its key). */
  shown: PresentedQuestion;
}
