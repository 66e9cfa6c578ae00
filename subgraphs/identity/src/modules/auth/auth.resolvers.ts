// Signing in, refreshing and ending a session. A sign-in payload may show the signed-in user
// their own email (ctx.signedIn).
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import { must } from '../../errors.ts';
import type { AuthResult } from './auth.service.ts';

/** The payload of a sign-in (login, refreshSession, acceptInvitation). */
export async function authPayload(ctx: Context, r: AuthResult) {
  ctx.signedIn.add(r.userId);
  return {
    ...r,
    user: must(await ctx.loaders.user.load(r.userId), 'User'),
    organization: must(await ctx.loaders.organization.load(r.organizationId), 'Organization'),
  };
}

export const authResolvers = {
  Mutation: {
    login: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.auth.login(ctx.uow, ctx.actor, input)),
    refreshSession: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.auth.refresh(ctx.uow, input)),
    logout: (_p, { input }, ctx: Context) => ctx.services.auth.logout(ctx.uow, input),
  },
} satisfies Resolvers;
