// Thin resolvers: parse arguments, call the queries and services, turn a mutation's stored
// result (ids and typed errors) into objects as the operation selects them.
import type { PageArgs } from '@lectern/kernel';
import type { Context } from '../context.ts';
import type { MutationResult } from '../errors.ts';
import type { Enrollment, EnrollmentStatus } from './enrollment/enrollment.entity.ts';
import type { Cohort, Offering } from './offering/offering.entity.ts';
import type { RejectedRow } from './queries.ts';
import type { RosterImport } from './roster/roster.entity.ts';

/** Another context's entity, as enrollment knows it: its id. */
export interface EntityRef {
  id: string;
}

type Input<T> = { input: T };
type EnrollmentPage = PageArgs & { status?: EnrollmentStatus | null };
const userRef = (id: string) => ({ __typename: 'User' as const, id });
const courseRef = (id: string) => ({ __typename: 'Course' as const, id });

export const payloadResolvers = {
  offering: (r: MutationResult, _: unknown, ctx: Context) => (r.offeringId ? ctx.queries.offering(r.offeringId) : null),
  cohort: (r: MutationResult, _: unknown, ctx: Context) => (r.cohortId ? ctx.queries.cohort(r.cohortId) : null),
  enrollment: (r: MutationResult, _: unknown, ctx: Context) => (r.enrollmentId ? ctx.queries.enrollment(r.enrollmentId) : null),
  promoted: async (r: MutationResult, _: unknown, ctx: Context) => {
    const found = await ctx.queries.enrollmentsById(r.promotedIds ?? []);
    return found;
  },
  rosterImport: (r: MutationResult, _: unknown, ctx: Context) => (r.importId ? ctx.queries.rosterImport(r.importId) : null),
  errors: (r: MutationResult) => r.errors,
};

/** DropEnrollmentPayload and MoveEnrollmentPayload promote at most one. */
const singlePromoted = {
  ...payloadResolvers,
  promoted: async (r: MutationResult, _: unknown, ctx: Context) => (r.promotedIds?.[0] ? ctx.queries.enrollment(r.promotedIds[0]) : null),
};

export const resolvers = {
  Query: {
    offering: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.offering(a.id),
    offerings: (_: unknown, a: PageArgs & { courseId?: string | null }, ctx: Context) => ctx.queries.offerings(a),
    cohort: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.cohort(a.id),
    enrollment: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.enrollment(a.id),
    myEnrollments: (_: unknown, a: EnrollmentPage, ctx: Context) => ctx.queries.myEnrollments(a),
    rosterImport: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.rosterImport(a.id),
  },
  Mutation: {
    createOffering: (_: unknown, { input }: Input<Parameters<Context['offerings']['createOffering']>[0]>, ctx: Context) => ctx.offerings.createOffering(input),
    updateOffering: (_: unknown, { input }: Input<Parameters<Context['offerings']['updateOffering']>[0]>, ctx: Context) => ctx.offerings.updateOffering(input),
    createCohort: (_: unknown, { input }: Input<Parameters<Context['offerings']['createCohort']>[0]>, ctx: Context) => ctx.offerings.createCohort(input),
    updateCohort: (_: unknown, { input }: Input<Parameters<Context['offerings']['updateCohort']>[0]>, ctx: Context) => ctx.offerings.updateCohort(input),
    setCohortInstructors: (_: unknown, { input }: Input<Parameters<Context['offerings']['setCohortInstructors']>[0]>, ctx: Context) => ctx.offerings.setCohortInstructors(input),
    enrollLearner: (_: unknown, { input }: Input<Parameters<Context['enrollments']['enrollLearner']>[0]>, ctx: Context) => ctx.enrollments.enrollLearner(input),
    dropEnrollment: (_: unknown, { input }: Input<Parameters<Context['enrollments']['dropEnrollment']>[0]>, ctx: Context) => ctx.enrollments.dropEnrollment(input),
    moveEnrollment: (_: unknown, { input }: Input<Parameters<Context['enrollments']['moveEnrollment']>[0]>, ctx: Context) => ctx.enrollments.moveEnrollment(input),
    importRoster: (_: unknown, { input }: Input<Parameters<Context['roster']['importRoster']>[0]>, ctx: Context) => ctx.roster.importRoster(input),
  },
  User: {
    enrollments: (user: { id: string }, a: EnrollmentPage, ctx: Context) => ctx.queries.learnerEnrollments(user.id, a),
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
  Enrollment: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.enrollment(ref.id),
    learner: (e: Enrollment) => userRef(e.learnerId),
    cohort: async (e: Enrollment, _: unknown, ctx: Context) => (await ctx.loaders.cohort.load(e.cohortId))!,
    offering: async (e: Enrollment, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(e.offeringId))!,
    waitlistPosition: (e: Enrollment, _: unknown, ctx: Context) => ctx.queries.waitlistPosition(e),
  },
  RosterImport: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.rosterImport(ref.id),
    offering: async (r: RosterImport, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(r.offeringId))!,
    cohort: async (r: RosterImport, _: unknown, ctx: Context) => (await ctx.loaders.cohort.load(r.cohortId))!,
    rejectedRows: (r: RosterImport, a: PageArgs, ctx: Context) => ctx.queries.rejectedRows(r.id, a),
  },
  RosterImportRow: {
    enrollment: (r: RejectedRow, _: unknown, ctx: Context) => (r.enrollmentId ? ctx.queries.enrollment(r.enrollmentId) : null),
  },
  CreateOfferingPayload: payloadResolvers,
  UpdateOfferingPayload: payloadResolvers,
  CreateCohortPayload: payloadResolvers,
  UpdateCohortPayload: payloadResolvers,
  SetCohortInstructorsPayload: payloadResolvers,
  EnrollLearnerPayload: payloadResolvers,
  DropEnrollmentPayload: singlePromoted,
  MoveEnrollmentPayload: singlePromoted,
  ImportRosterPayload: payloadResolvers,
};
