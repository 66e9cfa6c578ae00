// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Users are
// plain rows read in one round trip (user.store.ts); the rest are entities of the request's
// unit of work (tenant filter and RLS scope them). The caller's own memberships and pending
// invitations in every organization come from membership.store.ts (one person only).
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { loaderRegistry, oneLoader, manyLoader, type Role } from '@lectern/kernel';
import { usersById, visibleUsersById, type UserRecord } from './modules/user/user.store.ts';
import { Organization } from './modules/organization/organization.entity.ts';
import { Invitation, Membership, invitationStatus, type InvitationView } from './modules/membership/membership.entity.ts';
import { ownMemberships, ownPendingInvitations, type OwnInvitation, type OwnMembership } from './modules/membership/membership.store.ts';

/** Memoises one per-request read. */
const once = <T>(fetch: () => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => (p ??= fetch());
};

export function createLoaders(base: SubgraphContext) {
  const views = async (rows: Invitation[]): Promise<InvitationView[]> => {
    if (rows.length === 0) return [];
    const em = await base.uow.em();
    const memberships = await em.find(Membership, { id: { $in: rows.map((r) => r.membershipId) } });
    const users = await usersById(base.uow, [...new Set(memberships.map((m) => m.userId))]);
    const byMembership = new Map(memberships.map((m) => [m.id, m]));
    const emailOf = new Map(users.map((u) => [u.id, u.email]));
    return rows.flatMap((inv) => {
      const m = byMembership.get(inv.membershipId);
      const email = m && emailOf.get(m.userId);
      if (!m || !email) return [];
      return [{ id: inv.id, tenantId: inv.tenantId, membershipId: m.id, email, roles: m.roles, status: invitationStatus(inv), expiresAt: inv.expiresAt, createdAt: inv.createdAt }];
    });
  };
  const caller = base.actor.kind === 'user' ? base.actor.userId : null;
  return loaderRegistry({
    /** Any user by id (reached only through something the caller may see). */
    user: () => oneLoader(async (ids: readonly string[]) => usersById(base.uow, ids), (u: UserRecord) => u.id),
    /**
     * A user the caller may see (themself, or an active member of the caller's organization),
     * else null: one statement per batch, plain rows (a federated list of 100 users costs what 1 does).
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
    /** Invitations of the caller's organization by id. */
    invitation: () =>
      oneLoader(async (ids: readonly string[]) => views(await (await base.uow.em()).find(Invitation, { id: { $in: [...ids] } })), (i: InvitationView) => i.id),
    /** The latest invitation of each membership of the caller's organization. */
    latestInvitation: () =>
      oneLoader(
        async (ids: readonly string[]) => {
          const rows = await (await base.uow.em()).find(Invitation, { membershipId: { $in: [...ids] } }, { orderBy: { createdAt: 'desc', id: 'desc' } });
          const latest = new Map<string, Invitation>();
          for (const r of rows) if (!latest.has(r.membershipId)) latest.set(r.membershipId, r);
          return views([...latest.values()]);
        },
        (i: InvitationView) => i.membershipId,
      ),
    /** The signed-in person's ACTIVE memberships in every organization. */
    ownMemberships: (): (() => Promise<OwnMembership[]>) => once(async () => (caller ? ownMemberships(base.uow, caller) : [])),
    /** Pending invitations addressed to the signed-in person, in any organization. */
    ownInvitations: (): (() => Promise<InvitationView[]>) =>
      once(async () => {
        if (!caller) return [];
        const [rows, self] = await Promise.all([ownPendingInvitations(base.uow, caller), usersById(base.uow, [caller])]);
        const email = self[0]?.email;
        return email ? rows.map((r: OwnInvitation) => ({ ...r, email, roles: r.roles as Role[], status: 'PENDING' as const })) : [];
      }),
  });
}

export type Loaders = ReturnType<typeof createLoaders>;
