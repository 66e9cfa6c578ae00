import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Connection, type Role } from '@lectern/kernel';

export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    userId: p.uuid(),
    roles: p.array().$type<Role[]>(),
    status: p.string().$type<'INVITED' | 'ACTIVE'>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Membership extends MembershipSchema.class {}
MembershipSchema.setClass(Membership);

export const InvitationSchema = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    membershipId: p.uuid(),
    tokenHash: p.string(),
    deliveryTokenHash: p.string().nullable(),
    expiresAt: p.datetime(),
    acceptedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Invitation extends InvitationSchema.class {}
InvitationSchema.setClass(Invitation);

/** A page of memberships (the SDL's MembershipConnection). */
export type MembershipConnection = Connection<Membership>;

/** An invitation as the API shows it (never its secret): the row with its membership's roles and the invitee's email. */
export interface InvitationView {
  id: string;
  tenantId: string;
  membershipId: string;
  email: string;
  roles: Role[];
  status: 'PENDING' | 'ACCEPTED' | 'EXPIRED';
  expiresAt: Date;
  createdAt: Date;
}

export const invitationStatus = (inv: { acceptedAt?: Date | null; expiresAt: Date }): InvitationView['status'] =>
  inv.acceptedAt ? 'ACCEPTED' : inv.expiresAt <= new Date() ? 'EXPIRED' : 'PENDING';

/** A membership as resolvers use it: the entity, or a row of the person's own memberships elsewhere. */
export type MembershipRow = Pick<Membership, 'id' | 'tenantId' | 'userId' | 'roles' | 'status' | 'createdAt'>;
