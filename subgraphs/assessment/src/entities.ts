// Assessment's MikroORM entities: the tables' shapes for the ORM (tenant filter, schema checks).
// Reads and writes go through set-based SQL in the modules' stores (attempts are a hot path,
// and every statement names tenant_id); views.ts parses their rows at the edge.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';

export const QuestionBankSchema = defineEntity({
  name: 'QuestionBank',
  tableName: 'question_banks',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    name: p.string(),
    description: p.text().nullable(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime(),
  },
});

export const QuestionSchema = defineEntity({
  name: 'Question',
  tableName: 'questions',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    bankId: p.uuid(),
    type: p.string(),
    tags: p.array().$type<string[]>(),
    currentVersion: p.integer(),
    archivedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const QuestionVersionSchema = defineEntity({
  name: 'QuestionVersion',
  tableName: 'question_versions',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    questionId: p.uuid(),
    number: p.integer(),
    definition: p.json<unknown>(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime(),
  },
});

export const QuizSchema = defineEntity({
  name: 'Quiz',
  tableName: 'quizzes',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    courseId: p.uuid(),
    title: p.string(),
    description: p.text().nullable(),
    published: p.boolean(),
    timeLimitSeconds: p.integer().nullable(),
    opensAt: p.datetime().nullable(),
    closesAt: p.datetime().nullable(),
    attemptsAllowed: p.integer().nullable(),
    gradingMethod: p.string(),
    passFraction: p.decimal('number'),
    shuffleQuestions: p.boolean(),
    shuffleOptions: p.boolean(),
    reviewMode: p.string(),
    reviewAvailability: p.string(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const AttemptSchema = defineEntity({
  name: 'Attempt',
  tableName: 'attempts',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    quizId: p.uuid(),
    learnerId: p.uuid(),
    enrollmentId: p.uuid(),
    number: p.integer(),
    status: p.string(),
    seed: p.string(),
    startedAt: p.datetime(),
    timeLimitSeconds: p.integer().nullable(),
    shuffleOptions: p.boolean(),
    deadline: p.datetime().nullable(),
    submittedAt: p.datetime().nullable(),
    autoSubmitted: p.boolean(),
    gradedAt: p.datetime().nullable(),
    score: p.decimal('number').nullable(),
    maxScore: p.decimal('number'),
    overrideScore: p.decimal('number').nullable(),
    updatedAt: p.datetime(),
  },
});

export const AccommodationSchema = defineEntity({
  name: 'Accommodation',
  tableName: 'accommodations',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    learnerId: p.uuid(),
    courseId: p.uuid().nullable(),
    quizId: p.uuid().nullable(),
    timeMultiplier: p.decimal('number'),
    extraAttempts: p.integer(),
    extensionSeconds: p.integer(),
    updatedBy: p.uuid().nullable(),
    updatedAt: p.datetime(),
  },
});

export const entities = [QuestionBankSchema, QuestionSchema, QuestionVersionSchema, QuizSchema, AttemptSchema, AccommodationSchema];
