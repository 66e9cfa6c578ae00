// Roster imports: starting one (the worker runs it), reading it and its rows. Ids out are
// global; a row's id is its import's UUID and its number (RosterImportRow).
import { globalId, globalIdOf, type PageArgs } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { RosterImport, RosterImportRowView } from './roster.entity.ts';

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
    id: globalIdOf('RosterImport'),
    offering: async (r: RosterImport, _: unknown, ctx: Context) => (await ctx.loaders.offering.load(r.offeringId))!,
    cohort: async (r: RosterImport, _: unknown, ctx: Context) => (await ctx.loaders.cohort.load(r.cohortId))!,
    rows: (r: RosterImport, a: PageArgs & { filter?: { status?: readonly string[] | null } | null }, ctx: Context) => ctx.queries.importRows(r.id, a),
  },
  RosterImportRow: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.queries.rosterImportRow(ref.id),
    id: (r: RosterImportRowView) => globalId('RosterImportRow', r.importId, String(r.rowNumber)),
    enrollment: (r: RosterImportRowView, _: unknown, ctx: Context) => (r.enrollmentId ? ctx.queries.enrollmentByUuid(r.enrollmentId) : null),
    rosterImport: async (r: RosterImportRowView, _: unknown, ctx: Context) => (await ctx.queries.rosterImportByUuid(r.importId))!,
  },
} satisfies Resolvers;
