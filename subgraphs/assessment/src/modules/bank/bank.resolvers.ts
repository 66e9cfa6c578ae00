// Question banks, questions and their versions as the API shows them (authors only: everyone
// else is told they do not exist), and the bank mutations. Thin: parse, call, map.
import { emptyConnection, entityRef, forbidden, globalIdOf, idOf, type PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import { must, type BankView, type QuestionView, type VersionView } from '../../views.ts';
import { normaliseTag } from '../grading/bank-file.ts';
import { inputFromDefinition } from './question-input.ts';

type Input<T> = { input: T };
type Banks = Context['banks'];

/** Authors' objects are null for everyone else (the same answer as a missing one). */
const forAuthors = <T>(ctx: Context, load: () => Promise<T | null>): Promise<T | null> | null => (ctx.viewer.author ? load() : null);

export const bankResolvers = {
  Query: {
    questionBanks: (_: unknown, a: PageArgs, ctx: Context) => {
      if (!ctx.viewer.author) throw forbidden('Only instructors and organization admins can read question banks');
      return ctx.loaders.banks(a);
    },
  },
  Mutation: {
    createQuestionBank: (_: unknown, { input }: Input<Parameters<Banks['createQuestionBank']>[0]>, ctx: Context) => ctx.banks.createQuestionBank(input),
    importQuestionBank: (_: unknown, { input }: Input<Parameters<Banks['importQuestionBank']>[0]>, ctx: Context) => ctx.banks.importQuestionBank(input),
    createQuestion: (_: unknown, { input }: Input<Parameters<Banks['createQuestion']>[0]>, ctx: Context) => ctx.banks.createQuestion(input),
    updateQuestion: (_: unknown, { input }: Input<Parameters<Banks['updateQuestion']>[0]>, ctx: Context) => ctx.banks.updateQuestion(input),
    archiveQuestion: (_: unknown, { input }: Input<Parameters<Banks['archiveQuestion']>[0]>, ctx: Context) => ctx.banks.archiveQuestion(input),
  },
  QuestionBank: {
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'QuestionBank');
      return id ? forAuthors(ctx, () => ctx.loaders.bank.load(id)) : null;
    },
    id: globalIdOf('QuestionBank'),
    questions: (b: BankView, a: PageArgs & { tag?: string | null; type?: string | null; includeArchived?: boolean | null }, ctx: Context) =>
      ctx.viewer.author ? ctx.loaders.bankQuestions(b.id, a, { tag: a.tag ? normaliseTag(a.tag) : null, type: a.type ?? null, includeArchived: a.includeArchived ?? false }) : emptyConnection<QuestionView>(),
    exportDocument: (b: BankView, _: unknown, ctx: Context) => ctx.banks.exportDocument(b),
  },
  Question: {
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'Question');
      return id ? forAuthors(ctx, () => ctx.loaders.question.load(id)) : null;
    },
    id: globalIdOf('Question'),
    bank: (q: QuestionView, _: unknown, ctx: Context) => must(ctx.loaders.bank.load(q.bankId), 'question bank'),
    currentVersion: (q: QuestionView, _: unknown, ctx: Context) => must(ctx.loaders.currentVersion.load(q.id), 'current version'),
    versions: (q: QuestionView, _: unknown, ctx: Context) => ctx.loaders.versions.load(q.id),
  },
  QuestionVersion: {
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'QuestionVersion');
      return id ? forAuthors(ctx, () => ctx.loaders.version.load(id)) : null;
    },
    id: globalIdOf('QuestionVersion'),
    question: (v: VersionView, _: unknown, ctx: Context) => must(ctx.loaders.question.load(v.questionId), 'question'),
    type: (v: VersionView) => v.definition.type,
    prompt: (v: VersionView) => v.definition.prompt,
    points: (v: VersionView) => v.definition.points,
    explanation: (v: VersionView) => v.definition.explanation ?? null,
    options: (v: VersionView) => inputFromDefinition(v.definition).options,
    correctOptionIds: (v: VersionView) => inputFromDefinition(v.definition).correctOptionIds,
    correctBoolean: (v: VersionView) => inputFromDefinition(v.definition).correctBoolean,
    acceptedAnswers: (v: VersionView) => inputFromDefinition(v.definition).acceptedAnswers,
    caseSensitive: (v: VersionView) => inputFromDefinition(v.definition).caseSensitive,
    value: (v: VersionView) => inputFromDefinition(v.definition).value,
    tolerance: (v: VersionView) => inputFromDefinition(v.definition).tolerance,
    unit: (v: VersionView) => inputFromDefinition(v.definition).unit,
    prompts: (v: VersionView) => inputFromDefinition(v.definition).prompts,
    pairs: (v: VersionView) => inputFromDefinition(v.definition).pairs,
    items: (v: VersionView) => inputFromDefinition(v.definition).items,
    text: (v: VersionView) => inputFromDefinition(v.definition).text,
    blanks: (v: VersionView) => inputFromDefinition(v.definition).blanks,
    minWords: (v: VersionView) => inputFromDefinition(v.definition).minWords,
    maxWords: (v: VersionView) => inputFromDefinition(v.definition).maxWords,
    rubric: (v: VersionView) => inputFromDefinition(v.definition).rubric ?? null,
    statistics: (v: VersionView, _: unknown, ctx: Context) => ctx.statistics.versionStatistics.load(v.id),
    createdBy: (v: VersionView) => (v.createdBy ? entityRef('User', v.createdBy) : null),
  },
};
