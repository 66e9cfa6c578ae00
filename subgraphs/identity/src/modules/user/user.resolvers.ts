// The caller (`me`, the Viewer), users and their membership, and the caller's own profile.
// Visibility lives in the tenant-scoped loaders: a user who is not the caller or an active
// member of the caller's organization (another organization's user, a former member, someone
// only invited) resolves to null.
import { globalId, globalIdOf, idOf } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import { canSeeEmails } from '../../access.ts';
import type { Context } from '../../context.ts';
import { scopeNames } from '../api-key/api-key.service.ts';
import type { ViewerModel } from './user.entity.ts';
import type { UserRecord as User } from './user.store.ts';

/** The user, if they are an active member of the caller's organization (or the caller themself). */
async function visibleUser(ctx: Context, id: string | null): Promise<User | null> {
  if (!id || !ctx.actor.tenantId) return null;
  const user = await ctx.loaders.visibleUser.load(id);
  if (user) ctx.loaders.user.prime(user.id, user);
  return user;
}

/** The caller as a Viewer; null when anonymous (or a service). */
function viewerOf(ctx: Context): ViewerModel | null {
  const a = ctx.actor;
  if (a.kind === 'api_key' && a.apiKeyId) {
    return { principalId: a.apiKeyId, kind: 'API_KEY', userId: null, tenantId: a.tenantId, roles: [], superAdmin: false, scopes: a.scopes };
  }
  if (a.kind === 'user' && a.userId) return { principalId: a.userId, kind: 'USER', userId: a.userId, tenantId: a.tenantId, roles: a.roles, superAdmin: a.superAdmin, scopes: [] };
  return null;
}

const isSelf = (ctx: Context, u: Pick<User, 'id'>) => u.id === ctx.actor.userId || ctx.signedIn.has(u.id);

export const userResolvers = {
  Query: {
    me: (_p, _a, ctx: Context) => viewerOf(ctx),
    user: (_p, { id }, ctx: Context) => visibleUser(ctx, idOf(id, 'User')),
  },
  Mutation: {
    updateProfile: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.users.updateProfile(ctx.uow, ctx.actor, input);
      ctx.loaders.user.clear(r.userId);
      return { user: await ctx.loaders.user.load(r.userId), errors: r.errors };
    },
  },
  User: {
    __resolveReference: (ref: { id: string }, ctx: Context) => visibleUser(ctx, idOf(ref.id, 'User')),
    id: globalIdOf('User'),
    email: (u, _a, ctx: Context) => (isSelf(ctx, u) || canSeeEmails(ctx) ? u.email : null),
    timeZone: (u, _a, ctx: Context) => (isSelf(ctx, u) ? u.timeZone : null),
    locale: (u, _a, ctx: Context) => (isSelf(ctx, u) ? (u.locale ?? null) : null),
    membership: (u, _a, ctx: Context) => (ctx.actor.tenantId ? ctx.loaders.membershipByUser.load(u.id) : null),
  },
  Viewer: {
    // Only the caller's own Viewer resolves.
    __resolveReference: (ref: { id: string }, ctx: Context) => {
      const v = viewerOf(ctx);
      return v && idOf(ref.id, 'Viewer') === v.principalId ? v : null;
    },
    id: (v) => globalId('Viewer', v.principalId),
    kind: (v) => v.kind,
    user: (v, _a, ctx: Context) => (v.userId ? ctx.loaders.user.load(v.userId) : null),
    organization: (v, _a, ctx: Context) => (v.tenantId ? ctx.loaders.organization.load(v.tenantId) : null),
    roles: (v) => v.roles,
    superAdmin: (v) => v.superAdmin,
    scopes: (v) => scopeNames(v.scopes),
    memberships: (v, _a, ctx: Context) => (v.userId ? ctx.loaders.ownMemberships() : []),
    pendingInvitations: (v, _a, ctx: Context) => (v.userId ? ctx.loaders.ownInvitations() : []),
  },
} satisfies Resolvers;
