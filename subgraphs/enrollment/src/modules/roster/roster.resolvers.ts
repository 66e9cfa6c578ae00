// Roster imports: starting one (the worker runs it), reading it and its rejected rows.
import type { PageArgs } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { RejectedRow } from '../enrollment/enrollment.queries.ts';
import type { RosterImport } from './roster.entity.ts';

type Input<T> = { input: T };

export const rosterResolvers = {
  Query: {
    rosterImport: (_: unknown, a: { id: string }, ctx: Context) => ctx.queries.rosterImport(a.id),
  },
  Mutation: {
    importRoster: (_: unknown, { input }: Input<Parameters<Context['roster']['importRoster']>[0]>, ctx: Context) => ctx.roster.importRoster(input),
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
} satisfies Resolvers;
