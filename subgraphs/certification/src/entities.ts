// Certification's MikroORM entities: the tables' shapes for the ORM (tenant filter, schema
// checks). Reads and writes go through set-based SQL (every statement names tenant_id);
// views.ts parses their rows at the edge.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';

export const CertificateRuleSchema = defineEntity({
  name: 'CertificateRule',
  tableName: 'certificate_rules',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    courseId: p.uuid().primary(),
    enabled: p.boolean(),
    minimumQuizGrade: p.double().nullable(),
    validForDays: p.integer().nullable(),
    updatedBy: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const CompletionSchema = defineEntity({
  name: 'Completion',
  tableName: 'completions',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    enrollmentId: p.uuid().primary(),
    learnerId: p.uuid(),
    courseId: p.uuid(),
    courseVersionId: p.uuid(),
    completedAt: p.datetime(),
  },
});

export const QuizGradeSchema = defineEntity({
  name: 'QuizGrade',
  tableName: 'quiz_grades',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    learnerId: p.uuid().primary(),
    quizId: p.uuid().primary(),
    score: p.double(),
    gradedAt: p.datetime(),
  },
});

export const CourseVersionSchema = defineEntity({
  name: 'CourseVersion',
  tableName: 'course_versions',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    versionId: p.uuid().primary(),
    courseId: p.uuid(),
    title: p.text(),
    description: p.text(),
    quizIds: p.array().$type<string[]>(),
  },
});

export const StatusListSchema = defineEntity({
  name: 'StatusList',
  tableName: 'status_lists',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    seq: p.bigint('number').persist(false),
    multiplier: p.integer(),
    offset: p.integer(),
    nextSlot: p.integer(),
    bits: p.blob(),
    updatedAt: p.datetime(),
  },
});

export const CertificateSchema = defineEntity({
  name: 'Certificate',
  tableName: 'certificates',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    enrollmentId: p.uuid(),
    learnerId: p.uuid(),
    courseId: p.uuid(),
    courseVersionId: p.uuid(),
    status: p.string(),
    issuedAt: p.datetime(),
    validUntil: p.datetime().nullable(),
    statusListId: p.uuid(),
    statusListIndex: p.integer(),
    credential: p.json<unknown>().nullable(),
    pdfKey: p.text().nullable(),
    pdfBytes: p.integer().nullable(),
    attempts: p.integer(),
    failureReason: p.text().nullable(),
    revokedAt: p.datetime().nullable(),
    revokedBy: p.uuid().nullable(),
    revocationReason: p.text().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const IssuerSchema = defineEntity({
  name: 'Issuer',
  tableName: 'issuers',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    did: p.text(),
    publicKeyMultibase: p.text(),
    sealedSecret: p.blob(),
    createdAt: p.datetime(),
  },
});

export const BrandingSchema = defineEntity({
  name: 'Branding',
  tableName: 'branding',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    logo: p.blob().nullable(),
    logoType: p.string().nullable(),
    updatedBy: p.uuid().nullable(),
    updatedAt: p.datetime(),
  },
});

export const entities = [CertificateRuleSchema, CompletionSchema, QuizGradeSchema, CourseVersionSchema, StatusListSchema, CertificateSchema, IssuerSchema, BrandingSchema];
