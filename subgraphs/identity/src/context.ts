import type { SubgraphContext, SubgraphDeps } from '@lectern/kernel/subgraph';
import { loaderRegistry, oneLoader, manyLoader } from '@lectern/kernel';
import type { IdentityEnv } from './env.ts';
import { runtimeOf } from './runtime.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { MembershipService } from './modules/membership/membership.service.ts';
import { OrganizationService } from './modules/organization/organization.service.ts';
import { ApiKeyService } from './modules/api-key/api-key.service.ts';
import { usersById, visibleUsersById, type UserRecord } from './modules/user/user.store.ts';
import { Organization } from './modules/organization/organization.entity.ts';
import { Membership } from './modules/membership/membership.entity.ts';

function createLoaders(base: SubgraphContext) {
  return loaderRegistry({
    /** Any user by id (reached only through something the caller may see). */
    user: () => oneLoader(async (ids: readonly string[]) => usersById(await base.uow.em(), ids), (u: UserRecord) => u.id),
    /**
     * A user the caller may see (themself, or a member of the caller's organization), else null:
     * one statement per batch, plain rows (a federated list of 100 users costs what 1 does).
     */
    visibleUser: () =>
      oneLoader(
        async (ids: readonly string[]) =>
          base.actor.tenantId ? visibleUsersById(await base.uow.em(), base.actor.tenantId, base.actor.userId ?? null, ids) : [],
        (u: UserRecord) => u.id,
      ),
    /** The membership of each user in the caller's organization (tenant filter + RLS scope it). */
    membershipByUser: () =>
      oneLoader(async (ids: readonly string[]) => (await base.uow.em()).find(Membership, { userId: { $in: [...ids] } }), (m) => m.userId),
    membership: () => oneLoader(async (ids: readonly string[]) => (await base.uow.em()).find(Membership, { id: { $in: [...ids] } }), (m) => m.id),
    organization: () => oneLoader(async (ids: readonly string[]) => (await base.uow.em()).find(Organization, { id: { $in: [...ids] } }), (o) => o.id),
    membershipsOfUsers: () =>
      manyLoader(async (ids: readonly string[]) => (await base.uow.em()).find(Membership, { userId: { $in: [...ids] } }), (m) => m.userId),
  });
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface Services {
  auth: AuthService;
  members: MembershipService;
  organizations: OrganizationService;
  apiKeys: ApiKeyService;
}

export type Context = SubgraphContext & {
  loaders: Loaders;
  services: Services;
  /** Users who proved who they are in this request (sign-in payloads may show them their own email). */
  signedIn: Set<string>;
};

const servicesByDeps = new WeakMap<object, Services>();

export function createContext(base: SubgraphContext, deps: SubgraphDeps<IdentityEnv>): Context {
  let services = servicesByDeps.get(deps);
  if (!services) {
    const rt = runtimeOf(deps);
    const auth = new AuthService(rt);
    services = { auth, members: new MembershipService(rt, auth), organizations: new OrganizationService(), apiKeys: new ApiKeyService(rt) };
    servicesByDeps.set(deps, services);
  }
  return { ...base, loaders: createLoaders(base), services, signedIn: new Set() };
}
