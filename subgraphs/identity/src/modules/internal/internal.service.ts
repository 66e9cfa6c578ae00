// What identity tells other contexts' workers, on request and per organization: contact
// details at send time, the member list, the organization's name, and a token for the
// invitation email.
import { inTenant } from '@lectern/kernel';
import { InternalNotFound } from '@lectern/kernel/internal';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Organization } from '../organization/organization.entity.ts';
import { User } from '../user/user.entity.ts';
import { Invitation, Membership } from '../membership/membership.entity.ts';
import { mintOpaque } from '../auth/secrets.ts';
import { INVITATION_PREFIX } from '../membership/membership.service.ts';

export class InternalService {
  #orm: MikroORM;
  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  /** Contacts of the given users who are members of the organization (others are left out). */
  contacts(tenantId: string, userIds: string[]) {
    return inTenant(this.#orm, tenantId, async (uow) => {
      const em = await uow.em();
      const memberships = await em.find(Membership, { userId: { $in: userIds } });
      const users = await em.find(User, { id: { $in: memberships.map((m) => m.userId) } });
      return { contacts: users.map((u) => ({ userId: u.id, email: u.email, displayName: u.displayName, timeZone: u.timeZone, locale: u.locale ?? null })) };
    });
  }

  /** Active members among `emails` (case-insensitive) and `userIds`. */
  resolveMembers(tenantId: string, emails: string[], userIds: string[]) {
    return inTenant(this.#orm, tenantId, async (uow) => {
      const em = await uow.em();
      const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter(Boolean))];
      const byEmail = wanted.length ? await em.find(User, { email: { $in: wanted } }) : [];
      const ids = [...new Set([...userIds, ...byEmail.map((u) => u.id)])];
      if (!ids.length) return { members: [] };
      const memberships = await em.find(Membership, { userId: { $in: ids }, status: 'ACTIVE' });
      const users = await em.find(User, { id: { $in: memberships.map((m) => m.userId) } });
      const rolesOf = new Map(memberships.map((m) => [m.userId, m.roles]));
      return { members: users.map((u) => ({ userId: u.id, email: u.email, roles: rolesOf.get(u.id) ?? [] })) };
    });
  }

  /** The organization's name and slug. */
  organization(tenantId: string) {
    return inTenant(this.#orm, tenantId, async (uow) => {
      const org = await (await uow.em()).findOne(Organization, { id: tenantId });
      if (!org) throw new InternalNotFound('no such organization');
      return { organization: { id: org.id, name: org.name, slug: org.slug } };
    });
  }

  gatewayPolicy(tenantId: string) {
    return inTenant(this.#orm, tenantId, async (uow) => {
      const org = await (await uow.em()).findOne(Organization, { id: tenantId });
      if (!org) throw new InternalNotFound('no such organization');
      return { requireTrustedDocuments: org.requireTrustedDocuments };
    });
  }

  members(tenantId: string) {
    return inTenant(this.#orm, tenantId, async (uow) => {
      const em = await uow.em();
      const org = await em.findOne(Organization, { id: tenantId });
      if (!org) throw new InternalNotFound('no such organization');
      const memberships = await em.find(Membership, { status: 'ACTIVE' }, { orderBy: { createdAt: 'asc' } });
      return {
        organization: { id: org.id, name: org.name, slug: org.slug },
        members: memberships.map((m) => ({ userId: m.userId, roles: m.roles })),
      };
    });
  }

  /** Mints the emailed token of a pending invitation (the previous emailed one stops working). */
  invitationDelivery(tenantId: string, invitationId: string) {
    return inTenant(this.#orm, tenantId, async (uow) =>
      uow.write(async (em) => {
        const inv = await em.findOne(Invitation, { id: invitationId });
        if (!inv || inv.acceptedAt || inv.expiresAt < new Date()) throw new InternalNotFound('no pending invitation');
        const membership = await em.findOneOrFail(Membership, { id: inv.membershipId });
        const [user, org] = await Promise.all([em.findOneOrFail(User, { id: membership.userId }), em.findOneOrFail(Organization, { id: tenantId })]);
        const secret = mintOpaque(INVITATION_PREFIX, tenantId, invitationId);
        inv.deliveryTokenHash = secret.hash;
        await em.flush();
        return { token: secret.token, email: user.email, displayName: user.displayName, organizationName: org.name, expiresAt: inv.expiresAt.toISOString() };
      }),
    );
  }
}
