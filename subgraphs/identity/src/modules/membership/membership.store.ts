// The membership module's raw SQL: the lock that serialises an organization's role changes,
// and the signed-in person's own memberships and pending invitations in every organization
// (SECURITY DEFINER functions of migration 0003 that answer about one person only; RLS scopes
// every other read to one tenant).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role, Statements } from '@lectern/kernel';
import { timestamp } from '@lectern/kernel/rows';

/** Serialises role changes of the organization for the rest of the transaction. */
export async function lockAdmins(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`admins:${tenantId}`]);
}

/** One of the person's memberships, whatever the organization (the columns of Membership). */
export interface OwnMembership {
  id: string;
  tenantId: string;
  userId: string;
  roles: Role[];
  status: 'INVITED' | 'ACTIVE';
  createdAt: Date;
}

const roleList = (v: unknown): Role[] => (Array.isArray(v) ? v : String(v).replace(/^\{|\}$/g, '').split(',').filter(Boolean)) as Role[];

/** The person's ACTIVE memberships in every organization, oldest first. */
export async function ownMemberships(db: Statements, userId: string): Promise<OwnMembership[]> {
  const rows = await db.statement<Record<string, unknown>>('select * from viewer_memberships(?::uuid)', [userId]);
  return rows.map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    userId: String(r.user_id),
    roles: roleList(r.roles),
    status: r.status as OwnMembership['status'],
    createdAt: timestamp(r.created_at),
  }));
}

/** A pending invitation addressed to the person, in any organization. */
export interface OwnInvitation {
  id: string;
  tenantId: string;
  membershipId: string;
  roles: Role[];
  expiresAt: Date;
  createdAt: Date;
}

/** Invitations addressed to the person that are still pending, oldest first. */
export async function ownPendingInvitations(db: Statements, userId: string): Promise<OwnInvitation[]> {
  const rows = await db.statement<Record<string, unknown>>('select * from viewer_pending_invitations(?::uuid)', [userId]);
  return rows.map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    membershipId: String(r.membership_id),
    roles: roleList(r.roles),
    expiresAt: timestamp(r.expires_at),
    createdAt: timestamp(r.created_at),
  }));
}

/** The same, from inside a write (its transaction). */
export async function ownPendingInvitationsIn(em: EntityManager, userId: string): Promise<OwnInvitation[]> {
  const rows = await em.execute<Record<string, unknown>[]>('select * from viewer_pending_invitations(?::uuid)', [userId]);
  return rows.map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    membershipId: String(r.membership_id),
    roles: roleList(r.roles),
    expiresAt: timestamp(r.expires_at),
    createdAt: timestamp(r.created_at),
  }));
}
