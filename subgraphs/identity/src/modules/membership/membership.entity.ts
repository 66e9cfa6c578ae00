import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Role } from '@lectern/kernel';

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
