// Members of the caller's organization: listing, inviting, accepting, changing roles.
import { globalIdOf, hasRole, idOf } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import { must } from '../../errors.ts';
import { authPayload } from '../auth/auth.resolvers.ts';
import { MEMBER_READERS } from './membership.service.ts';

const readsMembers = (ctx: Context) => hasRole(ctx.actor, ...MEMBER_READERS) || (ctx.actor.kind === 'api_key' && ctx.actor.scopes.includes('members:read'));

/** A membership of the caller's organization the caller may see (member readers: any; others: their own). */
async function visibleMembership(ctx: Context, id: string | null) {
  if (!id || !ctx.actor.tenantId) return null;
  if (!readsMembers(ctx)) {
    const own = ctx.actor.userId ? await ctx.loaders.membershipByUser.load(ctx.actor.userId) : null;
    return own?.id === id ? own : null;
  }
  return ctx.loaders.membership.load(id);
}

/** An invitation the caller may see: ORG_ADMIN of its organization, or the invitee while it is pending. */
async function visibleInvitation(ctx: Context, id: string | null) {
  if (!id) return null;
  if (ctx.actor.tenantId && hasRole(ctx.actor, 'ORG_ADMIN')) {
    const inv = await ctx.loaders.invitation.load(id);
    if (inv) return inv;
  }
  return (await ctx.loaders.ownInvitations()).find((i) => i.id === id) ?? null;
}

export const membershipResolvers = {
  Query: {
    members: (_p, args, ctx: Context) => ctx.services.members.list(ctx.uow, ctx.actor, args),
    member: (_p, { id }, ctx: Context) => visibleMembership(ctx, idOf(id, 'Membership')),
  },
  Mutation: {
    inviteMember: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.members.invite(ctx.uow, ctx.actor, input);
      return { invitation: r.invitationId ? await ctx.loaders.invitation.load(r.invitationId) : null, errors: r.errors };
    },
    acceptInvitation: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.members.accept(ctx.uow, ctx.actor, input)),
    changeMemberRoles: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.members.changeRoles(ctx.uow, ctx.actor, input);
      if (r.membershipId) ctx.loaders.membership.clear(r.membershipId);
      return { membership: r.membershipId ? await ctx.loaders.membership.load(r.membershipId) : null, errors: r.errors };
    },
  },
  Membership: {
    __resolveReference: async (ref: { id: string }, ctx: Context) => {
      const id = idOf(ref.id, 'Membership');
      return (await visibleMembership(ctx, id)) ?? (await ctx.loaders.ownMemberships()).find((m) => m.id === id) ?? null;
    },
    id: globalIdOf('Membership'),
    // An invitee's profile is theirs until they accept (and an answer about them would tell
    // whether the email has an account).
    user: async (m, _a, ctx: Context) => (m.status === 'ACTIVE' ? ctx.loaders.user.load(m.userId) : null),
    organization: async (m, _a, ctx: Context) => must(await ctx.loaders.organization.load(m.tenantId), 'Organization'),
    roles: (m) => m.roles,
    invitation: (m, _a, ctx: Context) =>
      m.status === 'INVITED' && m.tenantId === ctx.actor.tenantId && hasRole(ctx.actor, 'ORG_ADMIN') ? ctx.loaders.latestInvitation.load(m.id) : null,
  },
  Invitation: {
    __resolveReference: (ref: { id: string }, ctx: Context) => visibleInvitation(ctx, idOf(ref.id, 'Invitation')),
    id: globalIdOf('Invitation'),
    organization: async (i, _a, ctx: Context) => must(await ctx.loaders.organization.load(i.tenantId), 'Organization'),
  },
} satisfies Resolvers;
