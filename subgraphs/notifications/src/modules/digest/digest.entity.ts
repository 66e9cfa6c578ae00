// Digests sent (one per user, frequency and period) and the items waiting for one.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';
import type { DigestFrequency } from '../preferences/categories.ts';

export const DigestSchema = defineEntity({
  name: 'Digest',
  tableName: 'digests',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid(),
    frequency: p.string().$type<DigestFrequency>(),
    /** The user's local day (2026-11-21) or ISO week (2026-W47). */
    periodKey: p.string(),
    sentAt: p.datetime(),
    itemCount: p.integer(),
  },
});
export class Digest extends DigestSchema.class {}
DigestSchema.setClass(Digest);

export const DigestItemSchema = defineEntity({
  name: 'DigestItem',
  tableName: 'digest_items',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    notificationId: p.uuid().primary(),
    userId: p.uuid(),
    frequency: p.string().$type<DigestFrequency>(),
    createdAt: p.datetime(),
    /** Set once, by the digest that sent the item. */
    digestId: p.uuid().nullable(),
  },
});
export class DigestItem extends DigestItemSchema.class {}
DigestItemSchema.setClass(DigestItem);
