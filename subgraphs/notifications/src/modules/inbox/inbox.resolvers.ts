// Notification, the inbox queries and markNotificationsRead. Thin: parse arguments, call the
// InboxService, and turn the ids of a mutation's stored result into objects.
import type { PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import type { MarkReadInput, MarkReadResult } from './inbox.service.ts';
import type { Notification } from './notification.entity.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

export const inboxResolvers = {
  Query: {
    notifications: (_: unknown, args: PageArgs & { unreadOnly?: boolean | null }, ctx: Context) => ctx.inbox.list(args),
    unreadNotificationCount: (_: unknown, __: unknown, ctx: Context) => ctx.inbox.unreadCount(),
  },
  Mutation: {
    markNotificationsRead: (_: unknown, { input }: { input: MarkReadInput }, ctx: Context) => ctx.inbox.markRead(input),
  },
  Notification: {
    // A reference to catalog's Course: the gateway fetches the rest, with the caller's eyes.
    course: (n: Notification) => (n.courseId ? { __typename: 'Course' as const, id: n.courseId } : null),
    read: (n: Notification) => n.readAt !== null,
  },
  MarkNotificationsReadPayload: {
    notifications: (r: MarkReadResult, _: unknown, ctx: Context) => ctx.inbox.notifications(r.notificationIds),
    markedCount: (r: MarkReadResult) => r.markedCount,
    unreadCount: (_: MarkReadResult, __: unknown, ctx: Context) => ctx.inbox.unreadCount(),
    errors: (r: MarkReadResult) => r.errors,
  },
} satisfies Resolvers;
