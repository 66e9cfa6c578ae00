// Members of an organization: invitations, direct adds, role changes. ORG_ADMIN only,
// and an organization always keeps at least one active ORG_ADMIN.
import { randomUUID } from 'node:crypto';
import {
  authorize, badInput, idempotent, idempotentWrite, inTenant, notFound, ROLES, decodeCursor, pageSize, toConnection,
  type Actor, type PageArgs, type Role, type UnitOfWork,
} from '@lectern/kernel';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordEvent } from '@lectern/kernel/outbox';
import { MemberAdded, MemberInvited } from '@lectern/contracts/identity';
import type { ServiceRuntime } from '../../runtime.ts';
import { User } from '../user/user.entity.ts';
import { Invitation, Membership } from './membership.entity.ts';
import { lockAdmins } from './membership.store.ts';
import { hashSecret, mintOpaque, parseOpaque, sameHash } from '../auth/secrets.ts';
import { assertPassword, hashPassword, normalizeEmail, type AuthResult, type AuthService } from '../auth/auth.service.ts';

export const INVITATION_PREFIX = 'linv';
const INVITATION_DAYS = 7;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type IdentityErrorCode = 'SLUG_TAKEN' | 'ALREADY_MEMBER' | 'USER_NOT_FOUND' | 'LAST_ADMIN' | 'INVITATION_INVALID' | 'WEAK_PASSWORD';
export interface IdentityError {
  code: IdentityErrorCode;
  message: string;
  field?: string;
}

function validRoles(roles: Role[]): Role[] {
  const unique = [...new Set(roles)];
  if (unique.length === 0) throw badInput('roles must name at least one role', 'roles');
  for (const r of unique) if (!ROLES.includes(r)) throw badInput(`unknown role ${String(r)}`, 'roles');
  return unique;
}

function validEmail(email: string): string {
  const e = normalizeEmail(email);
  if (!EMAIL.test(e) || e.length > 320) throw badInput('email is not a valid address', 'email');
  return e;
}

export const MEMBER_READERS: Role[] = ['ORG_ADMIN', 'INSTRUCTOR', 'SUPPORT_READONLY'];

export class MembershipService {
  #rt: ServiceRuntime;
  #auth: AuthService;
  constructor(rt: ServiceRuntime, auth: AuthService) {
    this.#rt = rt;
    this.#auth = auth;
  }

  async list(uow: UnitOfWork, actor: Actor, args: PageArgs & { filter?: { role?: Role | null; status?: 'INVITED' | 'ACTIVE' | null } | null }) {
    authorize(actor, { roles: MEMBER_READERS, scope: 'members:read' });
    const limit = pageSize(args);
    const after = decodeCursor(args.after, 2) as [string, string] | null;
    const em = await uow.em();
    const where: Record<string, unknown> = {};
    if (args.filter?.role) where.roles = { $contains: [args.filter.role] };
    if (args.filter?.status) where.status = args.filter.status;
    if (after) {
      const at = new Date(after[0]);
      where.$or = [{ createdAt: { $gt: at } }, { createdAt: at, id: { $gt: after[1] } }];
    }
    const rows = await em.find(Membership, where, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: limit + 1 });
    return toConnection(rows, limit, (m) => [m.createdAt.toISOString(), m.id], after !== null);
  }

  async invite(uow: UnitOfWork, actor: Actor, input: { email: string; displayName?: string | null; roles: Role[]; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const email = validEmail(input.email);
    const roles = validRoles(input.roles);
    return idempotentWrite(
      uow,
      actor,
      'inviteMember',
      { ...input, email, roles },
      async (em) => {
        const user = (await em.findOne(User, { email })) ?? em.create(User, { email, displayName: input.displayName?.trim() || email.split('@')[0]!, passwordHash: null, superAdmin: false, timeZone: 'UTC' });
        await em.flush(); // the user row must exist before its membership references it
        const existing = await em.findOne(Membership, { userId: user.id });
        if (existing) return { errors: [{ code: 'ALREADY_MEMBER', message: 'This person is already a member or invited', field: 'email' }] as IdentityError[] };
        const membership = em.create(Membership, { tenantId: actor.tenantId, userId: user.id, roles, status: 'INVITED' });
        await em.flush(); // before the invitation that references it
        const invitationId = randomUUID();
        const secret = mintOpaque(INVITATION_PREFIX, actor.tenantId, invitationId);
        const expiresAt = new Date(Date.now() + INVITATION_DAYS * 86_400_000);
        em.create(Invitation, { id: invitationId, tenantId: actor.tenantId, membershipId: membership.id, tokenHash: secret.hash, deliveryTokenHash: null, expiresAt, acceptedAt: null });
        await em.flush();
        await recordEvent(em, MemberInvited, {
          tenantId: actor.tenantId,
          aggregateId: membership.id,
          payload: { membershipId: membership.id, userId: user.id, invitationId, roles, invitedBy: actor.userId },
        });
        return { membershipId: membership.id, invitation: { id: invitationId, email, expiresAt: expiresAt.toISOString(), token: secret.token }, errors: [] as IdentityError[] };
      },
      { protect: this.#rt.sealer },
    );
  }

  /** The invitee (not signed in) accepts: sets a password if they have none, becomes ACTIVE and is signed in. */
  async accept(uow: UnitOfWork, input: { token: string; password?: string | null; displayName?: string | null; idempotencyKey: string }): Promise<AuthResult> {
    const { idempotencyKey, ...rest } = input;
    return uow.write((em) =>
      idempotent(em, { tenantId: null, scope: 'acceptInvitation', key: idempotencyKey, input: rest, protect: this.#rt.sealer }, async () => {
        const parts = parseOpaque(INVITATION_PREFIX, input.token);
        if (!parts) throw badInput('This invitation is invalid or has expired', 'token');
        const outcome = await inTenant(this.#rt.deps.orm, parts.tenantId, async (t) => {
          const tem = await t.em();
          const inv = await tem.findOne(Invitation, { id: parts.id });
          const presented = hashSecret(input.token);
          const delivery = inv?.deliveryTokenHash;
          const matches = !!inv && (sameHash(inv.tokenHash, presented) || (!!delivery && sameHash(delivery, presented)));
          if (!inv || !matches || inv.acceptedAt || inv.expiresAt < new Date()) return null;
          const membership = await tem.findOneOrFail(Membership, { id: inv.membershipId });
          const user = await tem.findOneOrFail(User, { id: membership.userId });
          if (!user.passwordHash) user.passwordHash = await hashPassword(assertPassword(input.password));
          if (input.displayName?.trim()) user.displayName = input.displayName.trim();
          inv.acceptedAt = new Date();
          membership.status = 'ACTIVE';
          await tem.flush();
          await recordEvent(tem, MemberAdded, {
            tenantId: parts.tenantId,
            aggregateId: membership.id,
            payload: { membershipId: membership.id, userId: user.id, roles: membership.roles, via: 'INVITATION' },
          });
          return this.#auth.issueFor(t, user, parts.tenantId, membership.roles);
        });
        if (!outcome) throw badInput('This invitation is invalid or has expired', 'token');
        return outcome;
      }),
    );
  }

  async add(uow: UnitOfWork, actor: Actor, input: { email: string; roles: Role[]; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const email = validEmail(input.email);
    const roles = validRoles(input.roles);
    return idempotentWrite(uow, actor, 'addMember', { ...input, email, roles }, async (em) => {
      const user = await em.findOne(User, { email });
      if (!user) return { errors: [{ code: 'USER_NOT_FOUND', message: 'No Lectern user has this email; invite them instead', field: 'email' }] as IdentityError[] };
      if (await em.findOne(Membership, { userId: user.id })) {
        return { errors: [{ code: 'ALREADY_MEMBER', message: 'This person is already a member or invited', field: 'email' }] as IdentityError[] };
      }
      const membership = em.create(Membership, { tenantId: actor.tenantId, userId: user.id, roles, status: 'ACTIVE' });
      await em.flush();
      await recordEvent(em, MemberAdded, {
        tenantId: actor.tenantId,
        aggregateId: membership.id,
        payload: { membershipId: membership.id, userId: user.id, roles, via: 'ADDED' },
      });
      return { membershipId: membership.id, errors: [] as IdentityError[] };
    });
  }

  async changeRoles(uow: UnitOfWork, actor: Actor, input: { membershipId: string; roles: Role[]; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const roles = validRoles(input.roles);
    return idempotentWrite(uow, actor, 'changeMemberRoles', { ...input, roles }, async (em) => {
      // Serialise role changes per organization so two admins cannot demote each other at once.
      await lockAdmins(em, actor.tenantId);
      const membership = await em.findOne(Membership, { id: input.membershipId });
      if (!membership) throw notFound('Membership');
      if (membership.roles.includes('ORG_ADMIN') && !roles.includes('ORG_ADMIN') && (await this.#activeAdmins(em)) <= 1 && membership.status === 'ACTIVE') {
        return { membershipId: membership.id, errors: [{ code: 'LAST_ADMIN', message: 'An organization needs at least one ORG_ADMIN', field: 'roles' }] as IdentityError[] };
      }
      membership.roles = roles;
      await em.flush();
      return { membershipId: membership.id, errors: [] as IdentityError[] };
    });
  }

  #activeAdmins(em: EntityManager) {
    return em.count(Membership, { status: 'ACTIVE', roles: { $contains: ['ORG_ADMIN'] } });
  }
}
