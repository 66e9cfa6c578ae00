// A user's choice for one category and channel (only what they changed is stored).
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';
import type { Category, Channel, Frequency } from './categories.ts';

export const PreferenceSchema = defineEntity({
  name: 'Preference',
  tableName: 'preferences',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    userId: p.uuid().primary(),
    category: p.string().$type<Category>().primary(),
    channel: p.string().$type<Channel>().primary(),
    frequency: p.string().$type<Frequency>(),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class Preference extends PreferenceSchema.class {}
PreferenceSchema.setClass(Preference);
