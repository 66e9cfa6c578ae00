// Offerings and cohorts: reading them, creating and updating them, a course's offerings.
import type { PageArgs } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import { userRef, type EnrollmentPage } from '../enrollment/enrollment.resolvers.ts';
import type { Cohort, Offering } from './offering.entity.ts';

type Input<T> = { input: T };
const courseRef = (id: string) => ({ __typename: 'Course' as const, id });

export const offeringResolvers = {
  Query: {
    offering: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.offering(a.id),
    offerings: (_: unknown, a: PageArgs & { courseId?: string | null }, ctx: Context) => ctx.queries.offerings(a),
    cohort: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.cohort(a.id),
  },
  Mutation: {
    createOffering: (_: unknown, { input }: Input<Parameters<Context['offerings']['createOffering']>[0]>, ctx: Context) => ctx.offerings.createOffering(input),
    updateOffering: (_: unknown, { input }: Input<Parameters<Context['offerings']['updateOffering']>[0]>, ctx: Context) => ctx.offerings.updateOffering(input),
    createCohort: (_: unknown, { input }: Input<Parameters<Context['offerings']['createCohort']>[0]>, ctx: Context) => ctx.offerings.createCohort(input),
    updateCohort: (_: unknown, { input }: Input<Parameters<Context['offerings']['updateCohort']>[0]>, ctx: Context) => ctx.offerings.updateCohort(input),
    setCohortInstructors: (_: unknown, { input }: Input<Parameters<Context['offerings']['setCohortInstructors']>[0]>, ctx: Context) => ctx.offerings.setCohortInstructors(input),
  },
  Course: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    offerings: (course: { id: string }, a: PageArgs, ctx: Context) => ctx.queries.courseOfferings(course.id.toLowerCase(), a),
  },
  Offering: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.offering(ref.id),
    course: (o: Offering) => courseRef(o.courseId),
    prerequisiteCourses: (o: Offering) => o.prerequisiteCourseIds.map(courseRef),
    enrollmentOpen: (o: Offering) => {
      const now = new Date();
      return o.selfEnrollment && now < o.endsAt && (!o.enrollmentOpensAt || now >= o.enrollmentOpensAt) && (!o.enrollmentClosesAt || now < o.enrollmentClosesAt);
    },
    cohorts: (o: Offering, _: unknown, ctx: Context) => ctx.loaders.cohortsByOffering.load(o.id),
  },
  Cohort: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.cohort(ref.id),
    seatsAvailable: (c: Cohort) => Math.max(0, c.capacity - c.seatsTaken),
    waitlistCount: (c: Cohort, _: unknown, ctx: Context) => ctx.queries.waitlistCount(c.id),
    offering: async (c: Cohort, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(c.offeringId))!,
    instructors: (c: Cohort) => c.instructorIds.map(userRef),
    enrollments: (c: Cohort, a: EnrollmentPage, ctx: Context) => ctx.queries.cohortEnrollments(c.id, a),
  },
} satisfies Resolvers;
