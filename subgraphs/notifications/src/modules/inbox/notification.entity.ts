// An item of a user's inbox. Rows are written by event handlers (raw SQL with ON CONFLICT, so a
// redelivered event adds nothing) and read through this entity by the inbox and its loaders.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';
import type { Category } from '../preferences/categories.ts';

export const NotificationSchema = defineEntity({
  name: 'Notification',
  tableName: 'notifications',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid(),
    category: p.string().$type<Category>(),
    title: p.string(),
    body: p.text(),
    link: p.string().nullable(),
    /** The course a COURSES item is about (a federation reference to catalog's Course). */
    courseId: p.uuid().nullable(),
    /** False when the user gets the category by email only: not shown in the inbox. */
    inApp: p.boolean(),
    sourceEventId: p.uuid(),
    createdAt: p.datetime(),
    readAt: p.datetime().nullable(),
  },
});
export class Notification extends NotificationSchema.class {}
NotificationSchema.setClass(Notification);
