// The caller's organization, and creating one.
import { globalIdOf, idOf } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';

export const organizationResolvers = {
  Query: {
    organization: (_p, _a, ctx: Context) => (ctx.actor.tenantId ? ctx.loaders.organization.load(ctx.actor.tenantId) : null),
  },
  Mutation: {
    createOrganization: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.organizations.create(ctx.uow, ctx.actor, input);
      return { organization: r.organizationId ? await ctx.loaders.organization.load(r.organizationId) : null, errors: r.errors };
    },
    setTrustedDocumentsRequired: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.organizations.setTrustedDocumentsRequired(ctx.uow, ctx.actor, input);
      return { organization: await ctx.loaders.organization.load(r.organizationId), errors: r.errors };
    },
  },
  Organization: {
    // The caller's own organization, those they are an active member of, and (platform
    // operators) any: another organization looks missing.
    __resolveReference: async (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'Organization');
      if (!id) return null;
      if (id === ctx.actor.tenantId || ctx.actor.superAdmin) return ctx.loaders.organization.load(id);
      const own = await ctx.loaders.ownMemberships();
      return own.some((m) => m.tenantId === id) ? ctx.loaders.organization.load(id) : null;
    },
    id: globalIdOf('Organization'),
  },
} satisfies Resolvers;
