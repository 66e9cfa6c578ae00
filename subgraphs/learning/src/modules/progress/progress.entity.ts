// Learning's rows as the ORM reads them (tenant filter: layer 1 of isolation). Progress is
// written by set-based SQL (progress.store.ts, projection handlers) under RLS (layer 2);
// resolvers read through these entities and per-request DataLoaders.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';
import type { LessonKind, ProgressStatus } from '../policy/policy.ts';

export const ENROLLMENT_STATUSES = ['ACTIVE', 'COMPLETED', 'DROPPED'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export const EnrollmentSchema = defineEntity({
  name: 'Enrollment',
  tableName: 'enrollments',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    learnerId: p.uuid(),
    offeringId: p.uuid(),
    cohortId: p.uuid(),
    courseId: p.uuid(),
    courseVersionId: p.uuid(),
    status: p.string().$type<EnrollmentStatus>(),
    progressStatus: p.string().$type<ProgressStatus>(),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    completedTx: p.bigint().nullable(),
    enrolledAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export class Enrollment extends EnrollmentSchema.class {}
EnrollmentSchema.setClass(Enrollment);

export const CohortInstructorSchema = defineEntity({
  name: 'CohortInstructor',
  tableName: 'cohort_instructors',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    cohortId: p.uuid().primary(),
    instructorId: p.uuid().primary(),
  },
});
export class CohortInstructor extends CohortInstructorSchema.class {}
CohortInstructorSchema.setClass(CohortInstructor);

export const CourseVersionSchema = defineEntity({
  name: 'CourseVersion',
  tableName: 'course_versions',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    courseId: p.uuid(),
    fetchedAt: p.datetime(),
  },
});
export class CourseVersion extends CourseVersionSchema.class {}
CourseVersionSchema.setClass(CourseVersion);

export const VersionLessonSchema = defineEntity({
  name: 'VersionLesson',
  tableName: 'version_lessons',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    versionId: p.uuid().primary(),
    lessonId: p.uuid().primary(),
    lineageId: p.uuid(),
    courseId: p.uuid(),
    position: p.integer(),
    kind: p.string().$type<LessonKind>(),
    required: p.boolean(),
    durationSeconds: p.integer().nullable(),
    quizId: p.uuid().nullable(),
  },
});
export class VersionLesson extends VersionLessonSchema.class {}
VersionLessonSchema.setClass(VersionLesson);

export const LessonProgressSchema = defineEntity({
  name: 'LessonProgress',
  tableName: 'lesson_progress',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    enrollmentId: p.uuid().primary(),
    lessonId: p.uuid().primary(),
    learnerId: p.uuid(),
    status: p.string().$type<ProgressStatus>(),
    position: p.integer(),
    positionAt: p.datetime().nullable(),
    positionDevice: p.string(),
    /** int4multirange, read as its text form. */
    watched: p.string().columnType('int4multirange'),
    coveredSeconds: p.integer(),
    watchedSeconds: p.integer(),
    reportedDuration: p.integer().nullable(),
    opened: p.boolean(),
    quizPassed: p.boolean(),
    startedAt: p.datetime(),
    completedAt: p.datetime().nullable(),
    completedTx: p.bigint().nullable(),
    updatedAt: p.datetime(),
  },
});
export class LessonProgress extends LessonProgressSchema.class {}
LessonProgressSchema.setClass(LessonProgress);

export const CompletionPolicyRowSchema = defineEntity({
  name: 'CompletionPolicyRow',
  tableName: 'completion_policies',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    courseId: p.uuid().primary(),
    rules: p.json<unknown>(),
    updatedBy: p.uuid().nullable(),
    updatedAt: p.datetime(),
  },
});
export class CompletionPolicyRow extends CompletionPolicyRowSchema.class {}
CompletionPolicyRowSchema.setClass(CompletionPolicyRow);

export const DeviceWatchSchema = defineEntity({
  name: 'DeviceWatch',
  tableName: 'device_watch',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    enrollmentId: p.uuid().primary(),
    lessonId: p.uuid().primary(),
    deviceId: p.string().primary(),
    hbSeconds: p.integer(),
    hbLastMs: p.bigint(),
    hbLastSeq: p.bigint(),
    syncSeconds: p.integer(),
  },
});
export class DeviceWatch extends DeviceWatchSchema.class {}
DeviceWatchSchema.setClass(DeviceWatch);

export const entities = [
  EnrollmentSchema,
  CohortInstructorSchema,
  CourseVersionSchema,
  VersionLessonSchema,
  LessonProgressSchema,
  CompletionPolicyRowSchema,
  DeviceWatchSchema,
];
