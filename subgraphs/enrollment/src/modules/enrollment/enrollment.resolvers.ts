// Enrollments: reading them (with the caller's eyes, EnrollmentQueries), enrolling, dropping
// and moving, a user's enrollments, and the payload fields all mutations share. Thin: parse
// arguments, call the queries and services, turn a mutation's stored result (ids and typed
// errors) into objects as the operation selects them.
import type { PageArgs } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { MutationResult } from '../../errors.ts';
import type { Enrollment, EnrollmentStatus } from './enrollment.entity.ts';

type Input<T> = { input: T };
export type EnrollmentPage = PageArgs & { status?: EnrollmentStatus | null };
export const userRef = (id: string) => ({ __typename: 'User' as const, id });

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
export const singlePromotedPayloadResolvers = {
  ...payloadResolvers,
  promoted: async (r: MutationResult, _: unknown, ctx: Context) => (r.promotedIds?.[0] ? ctx.queries.enrollment(r.promotedIds[0]) : null),
};

export const enrollmentResolvers = {
  Query: {
    enrollment: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.enrollment(a.id),
    myEnrollments: (_: unknown, a: EnrollmentPage, ctx: Context) => ctx.queries.myEnrollments(a),
  },
  Mutation: {
    enrollLearner: (_: unknown, { input }: Input<Parameters<Context['enrollments']['enrollLearner']>[0]>, ctx: Context) => ctx.enrollments.enrollLearner(input),
    dropEnrollment: (_: unknown, { input }: Input<Parameters<Context['enrollments']['dropEnrollment']>[0]>, ctx: Context) => ctx.enrollments.dropEnrollment(input),
    moveEnrollment: (_: unknown, { input }: Input<Parameters<Context['enrollments']['moveEnrollment']>[0]>, ctx: Context) => ctx.enrollments.moveEnrollment(input),
  },
  User: {
    enrollments: (user: { id: string }, a: EnrollmentPage, ctx: Context) => ctx.queries.learnerEnrollments(user.id, a),
  },
  Enrollment: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.enrollment(ref.id),
    learner: (e: Enrollment) => userRef(e.learnerId),
    cohort: async (e: Enrollment, _: unknown, ctx: Context) => (await ctx.loaders.cohort.load(e.cohortId))!,
    offering: async (e: Enrollment, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(e.offeringId))!,
    waitlistPosition: (e: Enrollment, _: unknown, ctx: Context) => ctx.queries.waitlistPosition(e),
  },
} satisfies Resolvers;
