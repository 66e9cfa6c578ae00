// Course (the versioned definition of content), its versions, authors and prerequisites.
// Relations are plain id columns: every lookup goes through a per-request DataLoader, so
// nothing here lazy-loads behind a resolver's back.
import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Connection } from '@lectern/kernel';

export const COURSE_STATUSES = ['DRAFT', 'PUBLISHED', 'UNPUBLISHED'] as const;
export type CourseStatus = (typeof COURSE_STATUSES)[number];

export const VERSION_STATUSES = ['DRAFT', 'PUBLISHED', 'SUPERSEDED', 'WITHDRAWN'] as const;
export type CourseVersionStatus = (typeof VERSION_STATUSES)[number];

export const CourseSchema = defineEntity({
  name: 'Course',
  tableName: 'courses',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    slug: p.string(),
    status: p.string().$type<CourseStatus>(),
    /** The version authors see: the draft when there is one, else the last published or withdrawn one. */
    latestVersionId: p.uuid(),
    /** The version learners and search see; null unless status is PUBLISHED. */
    publishedVersionId: p.uuid().nullable(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class Course extends CourseSchema.class {}
CourseSchema.setClass(Course);

/** A page of courses (the SDL's CourseConnection; codegen maps it here). */
export type CourseConnection = Connection<Course>;

export const CourseVersionSchema = defineEntity({
  name: 'CourseVersion',
  tableName: 'course_versions',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    courseId: p.uuid(),
    number: p.integer(),
    title: p.string(),
    description: p.text().default(''),
    status: p.string().$type<CourseVersionStatus>(),
    basedOnVersionId: p.uuid().nullable(),
    publishedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    // search_vector is a generated column, read only by the search SQL: not mapped.
  },
});
export class CourseVersion extends CourseVersionSchema.class {}
CourseVersionSchema.setClass(CourseVersion);

export const CourseAuthorSchema = defineEntity({
  name: 'CourseAuthor',
  tableName: 'course_authors',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    courseId: p.uuid().primary(),
    userId: p.uuid().primary(),
    addedAt: p.datetime().onCreate(() => new Date()),
  },
});
export class CourseAuthor extends CourseAuthorSchema.class {}
CourseAuthorSchema.setClass(CourseAuthor);

export const CoursePrerequisiteSchema = defineEntity({
  name: 'CoursePrerequisite',
  tableName: 'course_prerequisites',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    courseId: p.uuid().primary(),
    prerequisiteCourseId: p.uuid().primary(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class CoursePrerequisite extends CoursePrerequisiteSchema.class {}
CoursePrerequisiteSchema.setClass(CoursePrerequisite);
