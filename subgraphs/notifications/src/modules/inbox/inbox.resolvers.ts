// Notification, the inbox queries, markNotificationsRead, notificationAdded and the Viewer's unread count. Thin:
// parse arguments, call the InboxService, and turn the ids of a mutation's stored result into
// objects. Ids leave as global ids; Notification and Viewer references arrive as global ids.
import { entityRef, globalId, type PageArgs } from '@lectern/kernel';
import { subscriptionField } from '@lectern/kernel/subscriptions';
import type { Context } from '../../context.ts';
import type { MarkReadInput, MarkReadResult, NotificationFilterInput } from './inbox.service.ts';
import type { Notification, ViewerRef } from './notification.entity.ts';
import type { NotificationAddedPayload } from './notification-added.ts';
import { courseText } from './texts.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

/** The course title the gateway fetched from catalog for `@requires(fields: "course { title }")`. */
type WithCourse = Notification & { requiredCourse?: { title?: string | null } | null };

export const inboxResolvers = {
  Query: {
    notifications: (_: unknown, args: PageArgs & { filter?: NotificationFilterInput | null }, ctx: Context) => ctx.inbox.list(args),
    unreadNotificationCount: (_: unknown, __: unknown, ctx: Context) => ctx.inbox.unreadCount(),
  },
  Mutation: {
    markNotificationsRead: (_: unknown, { input }: { input: MarkReadInput }, ctx: Context) => ctx.inbox.markRead(input),
  },
  Subscription: {
    // The caller's own inbox channel; each event is the new row itself (notification-added.ts).
    notificationAdded: subscriptionField<Context, Record<string, never>, NotificationAddedPayload>({
      admit: async (_args, ctx) => ctx.inbox.admitAdded(),
      resolve: (payload, _args, ctx) => ctx.inbox.added(payload),
    }),
  },
  Notification: {
    // Only the recipient gets it back (anyone else: null, as if it did not exist).
    __resolveReference: async (ref: { id: string; course?: { title?: string | null } | null }, ctx: Context) => {
      const n = await ctx.inbox.notification(ref.id);
      if (!n) return null;
      // The entity stays untouched (it is shared through the loader); the required course title rides along.
      return ref.course === undefined ? n : (Object.assign(Object.create(n) as WithCourse, { requiredCourse: ref.course }) as Notification);
    },
    id: (n: Notification) => globalId('Notification', n.id),
    // A reference to catalog's Course: the gateway fetches the rest, with the caller's eyes.
    course: (n: Notification) => (n.courseId ? entityRef('Course', n.courseId) : null),
    title: (n: Notification) => courseText(n.category, (n as WithCourse).requiredCourse?.title ?? null)?.title ?? n.title,
    body: (n: Notification) => courseText(n.category, (n as WithCourse).requiredCourse?.title ?? null)?.body ?? n.body,
    read: (n: Notification) => n.readAt !== null,
  },
  Viewer: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.inbox.viewer(ref.id),
    unreadNotificationCount: (_: ViewerRef, __: unknown, ctx: Context) => ctx.inbox.unreadCount(),
  },
  MarkNotificationsReadPayload: {
    notifications: (r: MarkReadResult, _: unknown, ctx: Context) => ctx.inbox.notifications(r.notificationIds),
    markedCount: (r: MarkReadResult) => r.markedCount,
    unreadCount: (_: MarkReadResult, __: unknown, ctx: Context) => ctx.inbox.unreadCount(),
    errors: (r: MarkReadResult) => r.errors,
  },
} satisfies Resolvers;
