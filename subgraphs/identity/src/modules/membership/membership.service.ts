// Members of an organization: invitations (the only way in), role changes. ORG_ADMIN only, and
// an organization always keeps at least one active ORG_ADMIN. An invitation's secret reaches the
// invitee alone (the invitation email, through the internal delivery endpoint); answers never
// differ by whether the email has a Lectern account.
import { randomUUID } from 'node:crypto';
import {
  authorize, badInput, idempotent, idempotentWrite, inTenant, inputId, pageRequest, principalOf, ROLES, toConnection,
  type Actor, type PageArgs, type Role, type UnitOfWork,
} from '@lectern/kernel';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { recordEvent } from '@lectern/kernel/outbox';
import { MemberAdded, MemberInvited } from '@lectern/contracts/identity';
import type { ServiceRuntime } from '../../runtime.ts';
import { identityError, type IdentityError } from '../../errors.ts';
import { User } from '../user/user.entity.ts';
import { Invitation, Membership } from './membership.entity.ts';
import { lockAdmins, ownPendingInvitationsIn } from './membership.store.ts';
import { hashSecret, mintOpaque, parseOpaque, sameHash } from '../auth/secrets.ts';
import { failed, hashPassword, normalizeEmail, passwordProblem, type AuthOutcome, type AuthService } from '../auth/auth.service.ts';

export const INVITATION_PREFIX = 'linv';
const INVITATION_DAYS = 7;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

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

export interface MemberListArgs extends PageArgs {
  orderBy?: { field: 'CREATED_AT'; direction: 'ASC' | 'DESC' } | null;
  filter?: { role?: Role | null; status?: 'INVITED' | 'ACTIVE' | null } | null;
}

const invalidInvitation = (field = 'token') => failed(identityError('INVITATION_INVALID', 'This invitation is invalid or has expired', field));

export class MembershipService {
  #rt: ServiceRuntime;
  #auth: AuthService;
  constructor(rt: ServiceRuntime, auth: AuthService) {
    this.#rt = rt;
    this.#auth = auth;
  }

  async list(uow: UnitOfWork, actor: Actor, args: MemberListArgs) {
    authorize(actor, { roles: MEMBER_READERS, scope: 'members:read' });
    const page = pageRequest(args, 2);
    const descending = args.orderBy?.direction === 'DESC';
    // A backward page reads the list's order reversed, then toConnection puts it back.
    const readDescending = descending !== page.backward;
    const filter: Record<string, unknown> = {};
    if (args.filter?.role) filter.roles = { $contains: [args.filter.role] };
    if (args.filter?.status) filter.status = args.filter.status;
    const where: Record<string, unknown> = { ...filter };
    if (page.cursor) {
      const at = new Date(String(page.cursor[0]));
      const op = readDescending ? '$lt' : '$gt';
      where.$or = [{ createdAt: { [op]: at } }, { createdAt: at, id: { [op]: String(page.cursor[1]) } }];
    }
    const em = await uow.em();
    const dir = readDescending ? 'desc' : 'asc';
    const rows = await em.find(Membership, where, { orderBy: { createdAt: dir, id: dir }, limit: page.limit + 1 });
    return toConnection(rows, page, (m) => [m.createdAt.toISOString(), m.id], async () => (await uow.em()).count(Membership, filter));
  }

  /**
   * Invites `email`: the answer is the invitation (the email as given, lowercased; PENDING),
   * the same whether or not the email has an account. The invitation's secret is not in it.
   */
  async invite(uow: UnitOfWork, actor: Actor, input: { email: string; displayName?: string | null; roles: Role[]; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const email = validEmail(input.email);
    const roles = validRoles(input.roles);
    return idempotentWrite(uow, actor, 'inviteMember', { ...input, email, roles }, async (em) => {
      const user =
        (await em.findOne(User, { email })) ??
        em.create(User, { email, displayName: input.displayName?.trim() || email.split('@')[0]!, passwordHash: null, superAdmin: false, timeZone: 'UTC', locale: null });
      await em.flush(); // the user row must exist before its membership references it
      let membership = await em.findOne(Membership, { userId: user.id });
      if (membership && (membership.status === 'ACTIVE' || (await this.#pendingInvitation(em, membership.id)))) {
        return { invitationId: null, errors: [identityError('ALREADY_MEMBER', 'This person is already a member or invited', 'email')] };
      }
      // A new membership, or an INVITED one whose invitation lapsed: invited (again).
      if (membership) membership.roles = roles;
      else membership = em.create(Membership, { tenantId: actor.tenantId, userId: user.id, roles, status: 'INVITED' });
      await em.flush(); // before the invitation that references it
      const invitationId = randomUUID();
      // The row's own secret is never shown to anyone: only emailed tokens (delivery) accept it.
      const unused = mintOpaque(INVITATION_PREFIX, actor.tenantId, invitationId);
      const expiresAt = new Date(Date.now() + INVITATION_DAYS * 86_400_000);
      em.create(Invitation, { id: invitationId, tenantId: actor.tenantId, membershipId: membership.id, tokenHash: unused.hash, deliveryTokenHash: null, expiresAt, acceptedAt: null });
      await em.flush();
      await recordEvent(em, MemberInvited, {
        tenantId: actor.tenantId,
        aggregateId: membership.id,
        payload: { membershipId: membership.id, userId: user.id, invitationId, roles, invitedBy: actor.userId },
      });
      return { invitationId, errors: [] as IdentityError[] };
    });
  }

  async #pendingInvitation(em: EntityManager, membershipId: string) {
    return em.findOne(Invitation, { membershipId, acceptedAt: null, expiresAt: { $gt: new Date() } });
  }

  /**
   * Accepts an invitation, by its emailed `token` or (signed in) its `invitationId`. An email with
   * no account: the token proves it is theirs, they set their password and are signed in. An email
   * with an account: only that account, signed in, links it (no password set, no session issued).
   */
  async accept(
    uow: UnitOfWork,
    actor: Actor,
    input: { token?: string | null; invitationId?: string | null; password?: string | null; displayName?: string | null; idempotencyKey: string },
  ): Promise<AuthOutcome> {
    const { idempotencyKey, ...rest } = input;
    const signedInUser = actor.kind === 'user' ? actor.userId : null;
    return uow.write((em) =>
      idempotent(
        em,
        { tenantId: uow.tenantId, scope: `acceptInvitation:${principalOf(actor)}`, key: idempotencyKey, input: rest, ttlHours: 1, protect: this.#rt.sealer },
        async () => {
          let target: { tenantId: string; invitationId: string; viaToken: boolean };
          if (input.token) {
            const parts = parseOpaque(INVITATION_PREFIX, input.token);
            if (!parts) return invalidInvitation();
            target = { tenantId: parts.tenantId, invitationId: parts.id, viaToken: true };
          } else if (input.invitationId) {
            if (!signedInUser) return failed(identityError('SIGN_IN_REQUIRED', 'Sign in to accept an invitation by its id (or use the emailed link)', 'invitationId'));
            const id = inputId(input.invitationId, 'Invitation', 'invitationId');
            const own = (await ownPendingInvitationsIn(em, signedInUser)).find((i) => i.id === id);
            if (!own) return invalidInvitation('invitationId');
            target = { tenantId: own.tenantId, invitationId: id, viaToken: false };
          } else {
            throw badInput('Send the token from the invitation email, or (signed in) an invitationId', 'token');
          }
          return inTenant(this.#rt.deps.orm, target.tenantId, async (t) => {
            const tem = await t.em();
            // Locked: two concurrent acceptances of one invitation activate it once.
            const inv = await tem.findOne(Invitation, { id: target.invitationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
            if (!inv || inv.acceptedAt || inv.expiresAt < new Date()) return invalidInvitation(target.viaToken ? 'token' : 'invitationId');
            if (target.viaToken && !(inv.deliveryTokenHash && sameHash(inv.deliveryTokenHash, hashSecret(input.token!)))) return invalidInvitation();
            const membership = await tem.findOneOrFail(Membership, { id: inv.membershipId });
            const user = await tem.findOneOrFail(User, { id: membership.userId });
            const hasAccount = user.passwordHash !== null;
            if (hasAccount || !target.viaToken) {
              // An existing account: linked only by that account, signed in.
              if (!signedInUser) {
                return failed(identityError('SIGN_IN_REQUIRED', 'This email already has a Lectern account: sign in as it, then accept the invitation'));
              }
              if (signedInUser !== user.id) return failed(identityError('WRONG_ACCOUNT', 'This invitation is addressed to another account than the one you are signed in as'));
            } else {
              const weak = passwordProblem(input.password, 'password');
              if (weak) return failed(weak);
              user.passwordHash = await hashPassword(input.password!);
              if (input.displayName?.trim()) user.displayName = input.displayName.trim().slice(0, 200);
            }
            inv.acceptedAt = new Date();
            membership.status = 'ACTIVE';
            await tem.flush();
            await recordEvent(tem, MemberAdded, {
              tenantId: target.tenantId,
              aggregateId: membership.id,
              payload: { membershipId: membership.id, userId: user.id, roles: membership.roles, via: 'INVITATION' },
            });
            if (hasAccount || !target.viaToken) return { userId: user.id, organizationId: target.tenantId, roles: membership.roles, errors: [] };
            return { ...(await this.#auth.issueFor(t, user, target.tenantId, membership.roles)), errors: [] };
          });
        },
      ),
    );
  }

  async changeRoles(uow: UnitOfWork, actor: Actor, input: { membershipId: string; roles: Role[]; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const roles = validRoles(input.roles);
    const membershipId = inputId(input.membershipId, 'Membership', 'membershipId');
    return idempotentWrite(uow, actor, 'changeMemberRoles', { ...input, membershipId, roles }, async (em) => {
      // Serialise role changes per organization so two admins cannot demote each other at once.
      await lockAdmins(em, actor.tenantId);
      const membership = await em.findOne(Membership, { id: membershipId });
      if (!membership) return { membershipId: null, errors: [identityError('NOT_FOUND', 'No such membership in this organization', 'membershipId')] };
      if (membership.roles.includes('ORG_ADMIN') && !roles.includes('ORG_ADMIN') && (await this.#activeAdmins(em)) <= 1 && membership.status === 'ACTIVE') {
        return { membershipId: membership.id, errors: [identityError('LAST_ADMIN', 'An organization needs at least one ORG_ADMIN', 'roles')] };
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
