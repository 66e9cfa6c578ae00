// An item of a user's inbox. Rows are written by event handlers (raw SQL with ON CONFLICT, so a
// redelivered event adds nothing) and read through this entity by the inbox and its loaders.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Connection } from '@lectern/kernel';
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

/** A page of an inbox, as codegen maps NotificationConnection. */
export type NotificationConnection = Connection<Notification>;

/** A reference to catalog's Course (the gateway fetches the rest from catalog). */
export interface CourseRef {
  __typename: 'Course';
  id: string;
}

/** identity's Viewer (the caller), as notifications extends it: its global id and the person. */
export interface ViewerRef {
  id: string;
  userId: string;
}
