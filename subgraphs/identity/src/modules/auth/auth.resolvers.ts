// Signing in, refreshing, ending a session and changing one's password. A sign-in payload may
// show the signed-in user their own email (ctx.signedIn).
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { AuthOutcome } from './auth.service.ts';

/** The payload of a session mutation (login, refreshSession, acceptInvitation, changePassword). */
export function authPayload(ctx: Context, r: AuthOutcome): AuthOutcome {
  if (r.userId && r.errors.length === 0) ctx.signedIn.add(r.userId);
  return r;
}

export const authResolvers = {
  Mutation: {
    login: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.auth.login(ctx.uow, ctx.actor, input)),
    refreshSession: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.auth.refresh(ctx.uow, ctx.actor, input)),
    logout: (_p, { input }, ctx: Context) => ctx.services.auth.logout(ctx.uow, ctx.actor, input),
    changePassword: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.auth.changePassword(ctx.uow, ctx.actor, input)),
  },
  AuthPayload: {
    user: (r, _a, ctx: Context) => (r.userId ? ctx.loaders.user.load(r.userId) : null),
    organization: (r, _a, ctx: Context) => (r.organizationId ? ctx.loaders.organization.load(r.organizationId) : null),
    roles: (r) => r.roles ?? null,
  },
} satisfies Resolvers;
