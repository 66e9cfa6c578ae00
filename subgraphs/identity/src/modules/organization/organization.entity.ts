import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';

export const OrganizationSchema = defineEntity({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    slug: p.string(),
    name: p.string(),
    /** Its people's tokens may send only the gateway's trusted documents (migration 0004). */
    requireTrustedDocuments: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Organization extends OrganizationSchema.class {}
OrganizationSchema.setClass(Organization);
