// Offering (a scheduled run of a published course version) and Cohort (a group with a seat
// capacity). Relations are id columns: every lookup goes through a per-request DataLoader.
// `seq` is the database's arrival order (cursors); the ORM never writes it.
import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Connection } from '@lectern/kernel';

export const OfferingSchema = defineEntity({
  name: 'Offering',
  tableName: 'offerings',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    courseId: p.uuid(),
    courseVersionId: p.uuid(),
    title: p.string().nullable(),
    startsAt: p.datetime(),
    endsAt: p.datetime(),
    enrollmentOpensAt: p.datetime().nullable(),
    enrollmentClosesAt: p.datetime().nullable(),
    selfEnrollment: p.boolean(),
    waitlistEnabled: p.boolean(),
    prerequisiteCourseIds: p.array().$type<string[]>(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class Offering extends OfferingSchema.class {}
OfferingSchema.setClass(Offering);

export const CohortSchema = defineEntity({
  name: 'Cohort',
  tableName: 'cohorts',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    offeringId: p.uuid(),
    name: p.string(),
    capacity: p.integer(),
    /** Changed only by the seat SQL (enrollment.store.ts), never through the ORM. */
    seatsTaken: p.integer().persist(false),
    waitlistSeq: p.integer().persist(false),
    instructorIds: p.array().$type<string[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class Cohort extends CohortSchema.class {}
CohortSchema.setClass(Cohort);

/** A page of offerings (codegen maps OfferingConnection to it). */
export type OfferingConnection = Connection<Offering>;
/** A page of cohorts (codegen maps CohortConnection to it). */
export type CohortConnection = Connection<Cohort>;

/** One audited move of an offering to another course version (changeOfferingVersion). Append-only. */
export const OfferingVersionChangeSchema = defineEntity({
  name: 'OfferingVersionChange',
  tableName: 'offering_version_changes',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    offeringId: p.uuid(),
    fromVersionId: p.uuid(),
    toVersionId: p.uuid(),
    reason: p.string(),
    changedBy: p.uuid().nullable(),
    changedAt: p.datetime().onCreate(() => new Date()),
  },
});
export class OfferingVersionChange extends OfferingVersionChangeSchema.class {}
OfferingVersionChangeSchema.setClass(OfferingVersionChange);
