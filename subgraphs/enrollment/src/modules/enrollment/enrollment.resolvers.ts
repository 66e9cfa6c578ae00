// Enrollments: reading them (with the caller's eyes, EnrollmentQueries), enrolling, dropping
// and moving, a user's enrollments, and the payload fields all mutations share. Thin: parse
// arguments, call the queries and services, turn a mutation's stored result (UUIDs and typed
// errors) into objects as the operation selects them. Ids out are global.
import { entityRef, globalIdOf, idOf } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { MutationResult } from '../../errors.ts';
import type { Enrollment } from './enrollment.entity.ts';
import type { EnrollmentPage } from './enrollment.queries.ts';

type Input<T> = { input: T };
type Service = Context['enrollments'];

/** Payload fields: the stored result holds UUIDs (loaded tenant-scoped, as the caller may see them). */
export const payloadResolvers = {
  offering: (r: MutationResult, _: unknown, ctx: Context) => (r.offeringId ? ctx.loaders.offering.load(r.offeringId) : null),
  cohort: (r: MutationResult, _: unknown, ctx: Context) => (r.cohortId ? ctx.loaders.cohort.load(r.cohortId) : null),
  enrollment: (r: MutationResult, _: unknown, ctx: Context) => (r.enrollmentId ? ctx.queries.enrollmentByUuid(r.enrollmentId) : null),
  promoted: (r: MutationResult, _: unknown, ctx: Context) => ctx.queries.enrollmentsById(r.promotedIds ?? []),
  rosterImport: (r: MutationResult, _: unknown, ctx: Context) => (r.importId ? ctx.queries.rosterImportByUuid(r.importId) : null),
  versionChange: (r: MutationResult, _: unknown, ctx: Context) => (r.versionChangeId ? ctx.loaders.versionChange.load(r.versionChangeId) : null),
  errors: (r: MutationResult) => r.errors,
};

/** DropEnrollmentPayload and MoveEnrollmentPayload promote at most one. */
export const singlePromotedPayloadResolvers = {
  ...payloadResolvers,
  promoted: (r: MutationResult, _: unknown, ctx: Context) => (r.promotedIds?.[0] ? ctx.queries.enrollmentByUuid(r.promotedIds[0]) : null),
};

export const enrollmentResolvers = {
  Query: {
    enrollment: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.enrollment(a.id),
    myEnrollments: (_: unknown, a: EnrollmentPage, ctx: Context) => ctx.queries.myEnrollments(a),
  },
  Mutation: {
    enrollLearner: (_: unknown, { input }: Input<Parameters<Service['enrollLearner']>[0]>, ctx: Context) => ctx.enrollments.enrollLearner(input),
    dropEnrollment: (_: unknown, { input }: Input<Parameters<Service['dropEnrollment']>[0]>, ctx: Context) => ctx.enrollments.dropEnrollment(input),
    moveEnrollment: (_: unknown, { input }: Input<Parameters<Service['moveEnrollment']>[0]>, ctx: Context) => ctx.enrollments.moveEnrollment(input),
  },
  User: {
    // Identity's entity: enrollment adds the person's enrollments (the id stays identity's global id).
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'User') ? { id: ref.id } : null),
    enrollments: (user: { id: string }, a: EnrollmentPage, ctx: Context) => ctx.queries.learnerEnrollments(user.id, a),
  },
  Enrollment: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.enrollment(ref.id),
    id: globalIdOf('Enrollment'),
    learner: (e: Enrollment) => entityRef('User', e.learnerId),
    cohort: async (e: Enrollment, _: unknown, ctx: Context) => (await ctx.loaders.cohort.load(e.cohortId))!,
    offering: async (e: Enrollment, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(e.offeringId))!,
    waitlistPosition: (e: Enrollment, _: unknown, ctx: Context) => ctx.queries.waitlistPosition(e),
  },
} satisfies Resolvers;
