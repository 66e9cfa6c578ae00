// Subscription.notificationAdded's both ends: the channel of a person's inbox, the payload a new
// in-app item is published with, and how it becomes a Notification again per event.
//
// The payload is the row as inserted (every field the Notification resolvers read), not just its
// id: the publisher has all of it at hand, so an event costs no database read on the subscribing
// side, and the row cannot differ yet (a new item is unread; read_at is its only mutable column).
// Fields with @requires (title, body naming the course) are resolved by the gateway through
// `_entities`, which loads the row as for any query. The payload never leaves the tenant's
// channel (the kernel names it with the tenant) and carries what the recipient may read anyway.
//
// Published after the commit that made the rows (afterCommit): a subscriber never sees an item
// a rolled-back delivery did not keep, and reading it back through the API finds it.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Logger } from '@lectern/kernel';
import { publish } from '@lectern/kernel/subscriptions';
import { afterCommit } from '@lectern/kernel/uow';
import { NOTIFICATIONS } from '@lectern/contracts/notifications';
import type { Category } from '../preferences/categories.ts';
import { Notification } from './notification.entity.ts';

/** The channel of one person's inbox (within the tenant, which the kernel adds). */
export const inboxChannel = (userId: string) => `user:${userId}`;

/** What notificationAdded publishes per new in-app item (JSON over Redis: dates as ISO strings). */
export interface NotificationAddedPayload {
  id: string;
  userId: string;
  category: Category;
  title: string;
  body: string;
  link: string | null;
  courseId: string | null;
  createdAt: string;
}

/** The Notification a payload stands for (the entity class, unmanaged: resolvers only read it). */
export function notificationOf(tenantId: string, p: NotificationAddedPayload): Notification {
  return Object.assign(new Notification(), {
    id: p.id,
    tenantId,
    userId: p.userId,
    category: p.category,
    title: p.title,
    body: p.body,
    link: p.link,
    courseId: p.courseId,
    inApp: true,
    createdAt: new Date(p.createdAt),
    readAt: null,
  });
}

/** Publishes new inbox items to their recipients' channels. */
export interface InboxPublisher {
  /** Publishes `items` of `tenantId` once the transaction of `em` has committed (nothing if it rolls back). */
  afterCommit(em: EntityManager, tenantId: string, items: readonly NotificationAddedPayload[]): void;
}

/**
 * The publisher of a process holding a Redis client (the worker's). Publishing is best effort:
 * the inbox is the record, a subscriber that misses an event finds the item in `notifications`;
 * so a failure is logged and never fails (or delays) the delivery that committed.
 */
export function inboxPublisher(redis: Redis, prefix: string, log: Logger): InboxPublisher {
  return {
    afterCommit(em, tenantId, items) {
      if (items.length === 0) return;
      afterCommit(em, () => {
        for (const item of items) {
          publish(redis, NOTIFICATIONS, tenantId, inboxChannel(item.userId), item, { prefix }).catch((err: unknown) =>
            log.warn({ err, tenantId, notificationId: item.id }, 'could not publish notificationAdded'),
          );
        }
      });
    },
  };
}
