// Enrollment (a learner in a cohort) and CourseCompletion (what prerequisites are checked
// against, fed by learning's CourseCompleted). Enrollments are written by enrollment.store.ts (SQL that
// keeps the seat counter exact); the ORM reads them.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Connection } from '@lectern/kernel';

export const ENROLLMENT_STATUSES = ['ACTIVE', 'WAITLISTED', 'DROPPED', 'COMPLETED'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export const EnrollmentSchema = defineEntity({
  name: 'Enrollment',
  tableName: 'enrollments',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    offeringId: p.uuid(),
    cohortId: p.uuid(),
    learnerId: p.uuid(),
    status: p.string().$type<EnrollmentStatus>(),
    waitlistSeq: p.integer().nullable(),
    enrolledBy: p.uuid().nullable(),
    enrolledAt: p.datetime().nullable(),
    droppedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export class Enrollment extends EnrollmentSchema.class {}
EnrollmentSchema.setClass(Enrollment);

/** A page of enrollments (codegen maps EnrollmentConnection to it). */
export type EnrollmentConnection = Connection<Enrollment>;

export const CourseCompletionSchema = defineEntity({
  name: 'CourseCompletion',
  tableName: 'course_completions',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    learnerId: p.uuid().primary(),
    courseId: p.uuid().primary(),
    courseVersionId: p.uuid(),
    enrollmentId: p.uuid().nullable(),
    completedAt: p.datetime(),
  },
});
export class CourseCompletion extends CourseCompletionSchema.class {}
CourseCompletionSchema.setClass(CourseCompletion);
