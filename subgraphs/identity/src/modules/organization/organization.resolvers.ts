// The caller's organization, and creating one.
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { Organization } from './organization.entity.ts';

export const organizationResolvers = {
  Query: {
    organization: (_p, _a, ctx: Context) => (ctx.actor.tenantId ? ctx.loaders.organization.load(ctx.actor.tenantId) : null),
  },
  Mutation: {
    createOrganization: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.organizations.create(ctx.uow, ctx.actor, input);
      return { organization: 'organizationId' in r && r.organizationId ? await ctx.loaders.organization.load(r.organizationId) : null, errors: r.errors };
    },
  },
  Organization: {
    // Only the caller's own organization is resolvable: another tenant's looks missing.
    __resolveReference: (ref: { id: string }, ctx: Context) =>
      ref.id === ctx.actor.tenantId || ctx.actor.superAdmin ? ctx.loaders.organization.load(ref.id) : null,
    createdAt: (o: Organization) => o.createdAt,
  },
} satisfies Resolvers;
