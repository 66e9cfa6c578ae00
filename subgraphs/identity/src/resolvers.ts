// Thin resolvers: parse, call a service, map. Visibility rules live in the services and
// in the tenant-scoped loaders (a user outside the caller's organization resolves to null).
import { DateTime } from '@lectern/kernel/scalars';
import type { Resolvers } from './__generated__/resolvers.ts';
import { hasRole, isUuid, notFound, type Role } from '@lectern/kernel';
import type { Context } from './context.ts';
import type { UserRecord as User } from './modules/user/user.store.ts';
import type { Membership } from './modules/membership/membership.entity.ts';
import type { Organization } from './modules/organization/organization.entity.ts';
import { ApiKey } from './modules/api-key/api-key.entity.ts';
import type { AuthResult } from './modules/auth/auth.service.ts';
import { scopeNames } from './modules/api-key/api-key.service.ts';

export { DateTime };

/** The user, if they are a member of the caller's organization (or the caller themself). */
async function visibleUser(ctx: Context, id: string): Promise<User | null> {
  const user = await ctx.loaders.visibleUser.load(id);
  if (user) ctx.loaders.user.prime(user.id, user);
  return user;
}

const canSeeEmails = (ctx: Context) =>
  hasRole(ctx.actor, 'ORG_ADMIN', 'SUPPORT_READONLY') || (ctx.actor.kind === 'api_key' && ctx.actor.scopes.includes('members:read'));

/** A row that must exist (it was just written, or is referenced by one that does). */
function must<T>(row: T | null, what: string): T {
  if (row === null) throw notFound(what);
  return row;
}

async function authPayload(ctx: Context, r: AuthResult) {
  ctx.signedIn.add(r.userId);
  return {
    ...r,
    user: must(await ctx.loaders.user.load(r.userId), 'User'),
    organization: must(await ctx.loaders.organization.load(r.organizationId), 'Organization'),
  };
}

async function loadMembership(ctx: Context, id: string | undefined) {
  return id ? ctx.loaders.membership.load(id) : null;
}

export const resolvers: Resolvers = {
  DateTime,
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
    organization: (_p, _a, ctx: Context) => (ctx.actor.tenantId ? ctx.loaders.organization.load(ctx.actor.tenantId) : null),
    members: (_p, args, ctx: Context) => ctx.services.members.list(ctx.uow, ctx.actor, args),
    member: async (_p, { id }: { id: string }, ctx: Context) => {
      if (!ctx.actor.tenantId || !isUuid(id)) return null;
      if (!(hasRole(ctx.actor, 'ORG_ADMIN', 'INSTRUCTOR', 'SUPPORT_READONLY') || ctx.actor.scopes.includes('members:read'))) {
        const own = ctx.actor.userId ? await ctx.loaders.membershipByUser.load(ctx.actor.userId) : null;
        return own?.id === id ? own : null;
      }
      return ctx.loaders.membership.load(id);
    },
    user: (_p, { id }: { id: string }, ctx: Context) => (ctx.actor.tenantId && isUuid(id) ? visibleUser(ctx, id) : null),
    apiKeys: (_p, args, ctx: Context) => ctx.services.apiKeys.list(ctx.uow, ctx.actor, args),
  },
  Mutation: {
    login: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.auth.login(ctx.uow, ctx.actor, input)),
    refreshSession: async (_p, { input }, ctx: Context) => authPayload(ctx, await ctx.services.auth.refresh(ctx.uow, input)),
    logout: (_p, { input }, ctx: Context) => ctx.services.auth.logout(ctx.uow, input),
    createOrganization: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.organizations.create(ctx.uow, ctx.actor, input);
      return { organization: 'organizationId' in r && r.organizationId ? await ctx.loaders.organization.load(r.organizationId) : null, errors: r.errors };
    },
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
    createApiKey: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.apiKeys.create(ctx.uow, ctx.actor, input);
      const em = await ctx.uow.em();
      return { apiKey: await em.findOneOrFail(ApiKey, { id: r.apiKeyId }), secret: r.secret };
    },
    revokeApiKey: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.apiKeys.revoke(ctx.uow, ctx.actor, input);
      const em = await ctx.uow.em();
      return { apiKey: await em.findOneOrFail(ApiKey, { id: r.apiKeyId }) };
    },
  },
  Organization: {
    // Only the caller's own organization is resolvable: another tenant's looks missing.
    __resolveReference: (ref: { id: string }, ctx: Context) =>
      ref.id === ctx.actor.tenantId || ctx.actor.superAdmin ? ctx.loaders.organization.load(ref.id) : null,
    createdAt: (o: Organization) => o.createdAt,
  },
  User: {
    __resolveReference: (ref: { id: string }, ctx: Context) => (ctx.actor.tenantId && isUuid(ref.id) ? visibleUser(ctx, ref.id) : null),
    email: (u: Pick<User, 'id' | 'email'>, _a, ctx: Context) => (u.id === ctx.actor.userId || ctx.signedIn.has(u.id) || canSeeEmails(ctx) ? u.email : null),
    membership: (u: Pick<User, 'id'>, _a, ctx: Context) => ctx.loaders.membershipByUser.load(u.id),
  },
  Membership: {
    user: async (m: Membership, _a, ctx: Context) => must(await ctx.loaders.user.load(m.userId), 'User'),
    organization: async (m: Membership, _a, ctx: Context) => must(await ctx.loaders.organization.load(m.tenantId), 'Organization'),
    roles: (m: Membership) => m.roles as Role[],
  },
  ApiKey: {
    scopes: (k: ApiKey) => scopeNames(k.scopes),
  },
};
