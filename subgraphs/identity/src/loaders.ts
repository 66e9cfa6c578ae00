// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Users are
// plain rows read in one round trip (user.store.ts); the rest are entities of the request's
// unit of work (tenant filter and RLS scope them).
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { loaderRegistry, oneLoader, manyLoader } from '@lectern/kernel';
import { usersById, visibleUsersById, type UserRecord } from './modules/user/user.store.ts';
import { Organization } from './modules/organization/organization.entity.ts';
import { Membership } from './modules/membership/membership.entity.ts';

export function createLoaders(base: SubgraphContext) {
  return loaderRegistry({
    /** Any user by id (reached only through something the caller may see). */
    user: () => oneLoader(async (ids: readonly string[]) => usersById(base.uow, ids), (u: UserRecord) => u.id),
    /**
     * A user the caller may see (themself, or a member of the caller's organization), else null:
     * one statement per batch, plain rows (a federated list of 100 users costs what 1 does).
     */
    visibleUser: () =>
      oneLoader(
        async (ids: readonly string[]) =>
          base.actor.tenantId ? visibleUsersById(base.uow, base.actor.tenantId, base.actor.userId ?? null, ids) : [],
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
