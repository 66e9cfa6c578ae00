// The caller (`me`), users and their membership. Visibility lives in the tenant-scoped
// loaders: a user outside the caller's organization resolves to null.
import { isUuid } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import { canSeeEmails } from '../../access.ts';
import type { Context } from '../../context.ts';
import type { UserRecord as User } from './user.store.ts';

/** The user, if they are a member of the caller's organization (or the caller themself). */
async function visibleUser(ctx: Context, id: string): Promise<User | null> {
  const user = await ctx.loaders.visibleUser.load(id);
  if (user) ctx.loaders.user.prime(user.id, user);
  return user;
}

export const userResolvers = {
  Query: {
    me: async (_p, _a, ctx: Context) => {
      const a = ctx.actor;
      if (a.kind === 'anonymous') return null;
      return {
        user: a.userId ? await ctx.loaders.user.load(a.userId) : null,
        organization: a.tenantId ? await ctx.loaders.organization.load(a.tenantId) : null,
        roles: a.roles,
        superAdmin: a.superAdmin,
        kind: a.kind === 'api_key' ? 'API_KEY' : 'USER',
      };
    },
    user: (_p, { id }: { id: string }, ctx: Context) => (ctx.actor.tenantId && isUuid(id) ? visibleUser(ctx, id) : null),
  },
  User: {
    __resolveReference: (ref: { id: string }, ctx: Context) => (ctx.actor.tenantId && isUuid(ref.id) ? visibleUser(ctx, ref.id) : null),
    email: (u: Pick<User, 'id' | 'email'>, _a, ctx: Context) => (u.id === ctx.actor.userId || ctx.signedIn.has(u.id) || canSeeEmails(ctx) ? u.email : null),
    membership: (u: Pick<User, 'id'>, _a, ctx: Context) => ctx.loaders.membershipByUser.load(u.id),
  },
} satisfies Resolvers;
