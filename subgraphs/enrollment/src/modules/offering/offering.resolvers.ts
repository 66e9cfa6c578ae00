// Offerings and cohorts: reading them, scheduling them (createOffering, updateOffering,
// changeOfferingVersion, cohorts), a course's offerings. Ids out are global; ids in are
// decoded by the queries and services.
import { entityRef, globalIdOf, idOf, type PageArgs } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { EnrollmentPage, OfferingPage } from '../enrollment/enrollment.queries.ts';
import type { Cohort, Offering, OfferingVersionChange } from './offering.entity.ts';

type Input<T> = { input: T };
type Service = Context['offerings'];

export const offeringResolvers = {
  Query: {
    offering: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.offering(a.id),
    offerings: (_: unknown, a: OfferingPage, ctx: Context) => ctx.queries.offerings(a),
    cohort: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.cohort(a.id),
  },
  Mutation: {
    createOffering: (_: unknown, { input }: Input<Parameters<Service['createOffering']>[0]>, ctx: Context) => ctx.offerings.createOffering(input),
    updateOffering: (_: unknown, { input }: Input<Parameters<Service['updateOffering']>[0]>, ctx: Context) => ctx.offerings.updateOffering(input),
    changeOfferingVersion: (_: unknown, { input }: Input<Parameters<Service['changeOfferingVersion']>[0]>, ctx: Context) => ctx.offerings.changeOfferingVersion(input),
    createCohort: (_: unknown, { input }: Input<Parameters<Service['createCohort']>[0]>, ctx: Context) => ctx.offerings.createCohort(input),
    updateCohort: (_: unknown, { input }: Input<Parameters<Service['updateCohort']>[0]>, ctx: Context) => ctx.offerings.updateCohort(input),
    setCohortInstructors: (_: unknown, { input }: Input<Parameters<Service['setCohortInstructors']>[0]>, ctx: Context) => ctx.offerings.setCohortInstructors(input),
  },
  Course: {
    // Catalog's entity: enrollment adds its offerings (the id stays catalog's global id).
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'Course') ? { id: ref.id } : null),
    offerings: (course: { id: string }, a: OfferingPage, ctx: Context) => ctx.queries.courseOfferings(course.id, a),
  },
  Offering: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.offering(ref.id),
    id: globalIdOf('Offering'),
    course: (o: Offering) => entityRef('Course', o.courseId),
    courseVersion: (o: Offering) => entityRef('CourseVersion', o.courseVersionId),
    prerequisiteCourses: (o: Offering) => o.prerequisiteCourseIds.map((id) => entityRef('Course', id)),
    enrollmentOpen: (o: Offering) => {
      const now = new Date();
      return o.selfEnrollment && now < o.endsAt && (!o.enrollmentOpensAt || now >= o.enrollmentOpensAt) && (!o.enrollmentClosesAt || now < o.enrollmentClosesAt);
    },
    cohorts: (o: Offering, a: PageArgs, ctx: Context) => ctx.queries.offeringCohorts(o.id, a),
    versionChanges: (o: Offering, _: unknown, ctx: Context) => ctx.queries.versionChanges(o.id),
  },
  OfferingVersionChange: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.versionChange(ref.id),
    id: globalIdOf('OfferingVersionChange'),
    offering: async (v: OfferingVersionChange, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(v.offeringId))!,
    fromVersion: (v: OfferingVersionChange) => entityRef('CourseVersion', v.fromVersionId),
    toVersion: (v: OfferingVersionChange) => entityRef('CourseVersion', v.toVersionId),
    changedBy: (v: OfferingVersionChange) => (v.changedBy ? entityRef('User', v.changedBy) : null),
  },
  Cohort: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.cohort(ref.id),
    id: globalIdOf('Cohort'),
    seatsAvailable: (c: Cohort) => Math.max(0, c.capacity - c.seatsTaken),
    waitlistCount: (c: Cohort, _: unknown, ctx: Context) => ctx.queries.waitlistCount(c.id),
    offering: async (c: Cohort, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(c.offeringId))!,
    instructors: (c: Cohort) => c.instructorIds.map((id) => entityRef('User', id)),
    enrollments: (c: Cohort, a: EnrollmentPage, ctx: Context) => ctx.queries.cohortEnrollments(c.id, a),
  },
} satisfies Resolvers;
