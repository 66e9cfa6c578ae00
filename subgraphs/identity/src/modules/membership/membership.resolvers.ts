// Members of the caller's organization: listing, inviting, adding, changing roles.
import { hasRole, isUuid, type Role } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import { must } from '../../errors.ts';
import { authPayload } from '../auth/auth.resolvers.ts';
import type { Membership } from './membership.entity.ts';

async function loadMembership(ctx: Context, id: string | undefined) {
  return id ? ctx.loaders.membership.load(id) : null;
}

export const membershipResolvers = {
  Query: {
    members: (_p, args, ctx: Context) => ctx.services.members.list(ctx.uow, ctx.actor, args),
    member: async (_p, { id }: { id: string }, ctx: Context) => {
      if (!ctx.actor.tenantId || !isUuid(id)) return null;
      if (!(hasRole(ctx.actor, 'ORG_ADMIN', 'INSTRUCTOR', 'SUPPORT_READONLY') || ctx.actor.scopes.includes('members:read'))) {
        const own = ctx.actor.userId ? await ctx.loaders.membershipByUser.load(ctx.actor.userId) : null;
        return own?.id === id ? own : null;
      }
      return ctx.loaders.membership.load(id);
    },
  },
  Mutation: {
    inviteMember: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.members.invite(ctx.uow, ctx.actor, input);
      return { membership: await loadMembership(ctx, 'membershipId' in r ? r.membershipId : undefined), invitation: 'invitation' in r ? r.invitation : null, errors: r.errors };
    },
    acceptInvitation: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.members.accept(ctx.uow, input)),
    addMember: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.members.add(ctx.uow, ctx.actor, input);
      return { membership: await loadMembership(ctx, 'membershipId' in r ? r.membershipId : undefined), errors: r.errors };
    },
    changeMemberRoles: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.members.changeRoles(ctx.uow, ctx.actor, input);
      ctx.loaders.membership.clear(r.membershipId);
      return { membership: await loadMembership(ctx, r.membershipId), errors: r.errors };
    },
  },
  Membership: {
    user: async (m: Membership, _a, ctx: Context) => must(await ctx.loaders.user.load(m.userId), 'User'),
    organization: async (m: Membership, _a, ctx: Context) => must(await ctx.loaders.organization.load(m.tenantId), 'Organization'),
    roles: (m: Membership) => m.roles as Role[],
  },
} satisfies Resolvers;
