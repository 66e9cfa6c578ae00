// The caller's own inbox: a Relay connection newest first, the unread count, and marking read.
// Queries run in the request's unit of work (the organization) and name the caller (the
// person), so another person's or organization's notification is simply not there.
import { badInput, globalId, idempotentWrite, idOf, inputId, isUuid, mapConnection, pageRequest, toConnection, type Actor, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import { requireUser } from '../../access.ts';
import { notificationError, type NotificationError } from '../../errors.ts';
import type { NotificationsLoaders } from '../../loaders.ts';
import { inboxCount, inboxPage, markAllRead, markRead, type InboxFilter } from './inbox.store.ts';
import { CATEGORIES, type Category } from '../preferences/categories.ts';
import { Notification, type ViewerRef } from './notification.entity.ts';
import { inboxChannel, notificationOf, type NotificationAddedPayload } from './notification-added.ts';

/** created_at in a cursor: UTC with microseconds (a JavaScript Date would lose them). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const MAX_MARK_IDS = 100;

export interface MarkReadInput {
  ids?: string[] | null;
  all?: boolean | null;
  idempotencyKey: string;
}

/** Which inbox items `notifications` lists. */
export interface NotificationFilterInput {
  unread?: boolean | null;
  categories?: Category[] | null;
}

/** What markNotificationsRead stores as its idempotent result: ids (UUIDs), a count, typed errors. */
export interface MarkReadResult {
  notificationIds: string[];
  markedCount: number;
  errors: NotificationError[];
}

export class InboxService {
  #actor: Actor;
  #uow: UnitOfWork;
  #loaders: NotificationsLoaders;

  constructor(deps: { actor: Actor; uow: UnitOfWork; loaders: NotificationsLoaders }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#loaders = deps.loaders;
  }

  async list(args: PageArgs & { filter?: NotificationFilterInput | null }): Promise<Connection<Notification>> {
    const actor = this.#actor;
    requireUser(actor);
    const page = pageRequest(args, 2);
    let cursor: [string, string] | null = null;
    if (page.cursor) {
      const [createdAt, id] = page.cursor;
      const field = page.backward ? 'before' : 'after';
      if (typeof createdAt !== 'string' || !CURSOR_TIME.test(createdAt) || typeof id !== 'string' || !isUuid(id)) throw badInput(`${field} is not a valid cursor`, field);
      cursor = [createdAt, id];
    }
    const filter: InboxFilter = {
      tenantId: actor.tenantId,
      userId: actor.userId,
      unread: args.filter?.unread ?? null,
      categories: args.filter?.categories?.length ? [...new Set(args.filter.categories)] : args.filter?.categories ? [] : null,
    };
    if (filter.categories && !filter.categories.every((c) => CATEGORIES.includes(c as Category))) throw badInput('filter.categories names an unknown category', 'filter.categories');
    const em = await this.#uow.em();
    const rows = (await inboxPage(em, { ...filter, cursor, backward: page.backward, limit: page.limit + 1 })).map(({ columns, cursor: at }) => {
      const notification = em.map(Notification, columns as never);
      this.#loaders.notification.clear(notification.id).prime(notification.id, notification);
      return { notification, cursor: at };
    });
    const connection = toConnection(rows, page, (r) => [r.cursor, r.notification.id], async () => inboxCount(await this.#uow.em(), filter));
    return mapConnection(connection, (r) => r.notification);
  }

  /** identity's Viewer when it is the caller (a Viewer is only ever answered for oneself), else null. */
  viewer(id: string): ViewerRef | null {
    const userId = idOf(id, 'Viewer');
    const actor = this.#actor;
    if (!userId || actor.kind !== 'user' || !actor.userId || !actor.tenantId || userId !== actor.userId.toLowerCase()) return null;
    return { id: globalId('Viewer', actor.userId), userId: actor.userId };
  }

  /**
   * notificationAdded's admission: a person signed in to an organization (UNAUTHENTICATED /
   * FORBIDDEN as for the inbox) streams their own inbox's channel, within that organization.
   */
  admitAdded(): { channel: string; personal: true } {
    const actor = this.#actor;
    requireUser(actor);
    // One person's inbox: the gateway completes each item's fields as that person.
    return { channel: inboxChannel(actor.userId), personal: true };
  }

  /** One published item as the caller's Notification; null (the event is skipped) when it is not theirs. */
  added(payload: NotificationAddedPayload): Notification | null {
    const actor = this.#actor;
    if (actor.kind !== 'user' || !actor.tenantId || !actor.userId || payload.userId.toLowerCase() !== actor.userId.toLowerCase()) return null;
    return notificationOf(actor.tenantId, payload);
  }

  async unreadCount(): Promise<number> {
    requireUser(this.#actor);
    return this.#loaders.unreadCount.load(this.#actor.userId);
  }

  /** The caller's notification by global id, or null (malformed, missing, another person's or organization's). */
  async notification(id: string): Promise<Notification | null> {
    const uuid = idOf(id, 'Notification');
    return uuid ? this.byUuid(uuid) : null;
  }

  /** The caller's notification by UUID (stored results), or null. */
  async byUuid(uuid: string): Promise<Notification | null> {
    const actor = this.#actor;
    if (actor.kind !== 'user' || !actor.userId || !actor.tenantId) return null;
    return this.#loaders.notification.load(uuid.toLowerCase());
  }

  /** The caller's notifications among `uuids`, in that order. */
  async notifications(uuids: readonly string[]): Promise<Notification[]> {
    const found = await Promise.all(uuids.map((id) => this.byUuid(id)));
    return found.filter((n): n is Notification => n !== null);
  }

  /** Marks the given notifications (or all) read. Ids the caller has no notification of are reported, the rest are marked. */
  async markRead(input: MarkReadInput): Promise<MarkReadResult> {
    const actor = this.#actor;
    requireUser(actor);
    const ids = input.ids ?? null;
    if ((ids === null) === (input.all !== true)) throw badInput('Give either ids or all: true', ids === null ? 'all' : 'ids');
    if (ids !== null && (ids.length === 0 || ids.length > MAX_MARK_IDS)) throw badInput(`ids must hold 1 to ${MAX_MARK_IDS} ids`, 'ids');
    const uuids = ids?.map((id) => inputId(id, 'Notification', 'ids')) ?? null;
    try {
      return await idempotentWrite(this.#uow, actor, 'markNotificationsRead', input, async (em) => {
        if (ids === null) {
          const marked = await markAllRead(em, actor.tenantId, actor.userId);
          // The payload lists what ids named; after `all` the client reloads its inbox.
          return { notificationIds: [], markedCount: marked.length, errors: [] };
        }
        const wanted = [...new Set(uuids!)];
        const mine = await markRead(em, actor.tenantId, actor.userId, wanted);
        const found = new Set(mine.map((r) => r.id));
        const missing = wanted.filter((id) => !found.has(id));
        const errors = missing.length
          ? [notificationError('NOTIFICATION_NOT_FOUND', `${missing.length} of the notifications were not found; the others are marked read`, 'ids')]
          : [];
        return { notificationIds: wanted.filter((id) => found.has(id)), markedCount: mine.filter((r) => r.wasUnread).length, errors };
      });
    } finally {
      this.#loaders.clearAll();
    }
  }
}
