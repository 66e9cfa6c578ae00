// The caller's own inbox: a Relay connection newest first, the unread count, and marking read.
// Queries run in the request's unit of work (the organization) and name the caller (the
// person), so another person's or organization's notification is simply not there.
import { badInput, decodeCursor, idempotentWrite, isUuid, pageSize, toConnection, type Actor, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import { requireUser } from '../../access.ts';
import { notificationError, type NotificationError } from '../../errors.ts';
import type { NotificationsLoaders } from '../../loaders.ts';
import { inboxPage, markAllRead, markRead } from './inbox.store.ts';
import { Notification } from './notification.entity.ts';

/** created_at in a cursor: UTC with microseconds (a JavaScript Date would lose them). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const MAX_MARK_IDS = 100;

export interface MarkReadInput {
  ids?: string[] | null;
  all?: boolean | null;
  idempotencyKey: string;
}

/** What markNotificationsRead stores as its idempotent result: ids, a count, typed errors. */
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

  async list(args: PageArgs & { unreadOnly?: boolean | null }): Promise<Connection<Notification>> {
    const actor = this.#actor;
    requireUser(actor);
    const limit = pageSize(args);
    const after = decodeCursor(args.after, 2);
    let cursorAfter: [string, string] | null = null;
    if (after) {
      const [createdAt, id] = after;
      if (typeof createdAt !== 'string' || !CURSOR_TIME.test(createdAt) || !isUuid(id)) throw badInput('after is not a valid cursor', 'after');
      cursorAfter = [createdAt, id];
    }
    const em = await this.#uow.em();
    const page = await inboxPage(em, { tenantId: actor.tenantId, userId: actor.userId, unreadOnly: !!args.unreadOnly, after: cursorAfter, limit: limit + 1 });
    const rows = page.map(({ columns, cursor }) => {
      const notification = em.map(Notification, columns as never);
      this.#loaders.notification.clear(notification.id).prime(notification.id, notification);
      return { notification, cursor };
    });
    const connection = toConnection(rows, limit, (r) => [r.cursor, r.notification.id], after !== null);
    return {
      ...connection,
      edges: connection.edges.map((e) => ({ cursor: e.cursor, node: e.node.notification })),
      nodes: connection.nodes.map((r) => r.notification),
    };
  }

  async unreadCount(): Promise<number> {
    requireUser(this.#actor);
    return this.#loaders.unreadCount.load(this.#actor.userId);
  }

  /** The caller's notification, or null (missing, another person's, another organization's). */
  async notification(id: string): Promise<Notification | null> {
    requireUser(this.#actor);
    return isUuid(id) ? this.#loaders.notification.load(id.toLowerCase()) : null;
  }

  async notifications(ids: readonly string[]): Promise<Notification[]> {
    const found = await Promise.all(ids.map((id) => this.notification(id)));
    return found.filter((n): n is Notification => n !== null);
  }

  /** Marks the given notifications (or all) read. Ids the caller has no notification of are reported, the rest are marked. */
  async markRead(input: MarkReadInput): Promise<MarkReadResult> {
    const actor = this.#actor;
    requireUser(actor);
    const ids = input.ids ?? null;
    if ((ids === null) === (input.all !== true)) throw badInput('Give either ids or all: true', ids === null ? 'all' : 'ids');
    if (ids !== null && (ids.length === 0 || ids.length > MAX_MARK_IDS)) throw badInput(`ids must hold 1 to ${MAX_MARK_IDS} ids`, 'ids');
    try {
      return await idempotentWrite(this.#uow, actor, 'markNotificationsRead', input, async (em) => {
        if (ids === null) {
          const marked = await markAllRead(em, actor.tenantId, actor.userId);
          // The payload lists what ids named; after `all` the client reloads its inbox.
          return { notificationIds: [], markedCount: marked.length, errors: [] };
        }
        const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
        const mine = wanted.length ? await markRead(em, actor.tenantId, actor.userId, wanted) : [];
        const found = new Set(mine.map((r) => r.id));
        const missing = new Set(ids.filter((id) => !found.has(id.toLowerCase())));
        const errors = missing.size
          ? [notificationError('NOTIFICATION_NOT_FOUND', `${missing.size} of the notifications were not found; the others are marked read`, 'ids')]
          : [];
        return { notificationIds: ids.filter((id) => found.has(id.toLowerCase())).map((id) => id.toLowerCase()), markedCount: mine.filter((r) => r.wasUnread).length, errors };
      });
    } finally {
      this.#loaders.clearAll();
    }
  }
}
