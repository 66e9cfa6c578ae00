// How an item reaches the people it concerns, as each of them chose: an inbox row (unless
// in-app is OFF), a pending digest item (DAILY / WEEKLY email) or an email at once
// (IMMEDIATE). Rows are written in the handler's transaction with ON CONFLICT on the
// (user, source event, category) key, so a redelivered event changes nothing. Immediate
// emails go out last, each in its own unit of work: a failure halfway through a large
// organization leaves the emails already sent recorded, so the retry skips them.
// New in-app items are published to their recipients' notificationAdded subscriptions once the
// handler's transaction commits (notification-added.ts).
import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { inTenant, type Logger } from '@lectern/kernel';
import { sendEmailOnce } from '../email/email.service.ts';
import type { EmailKind } from '../email/email.entity.ts';
import type { Mailer, MailMessage } from '../email/mailer.ts';
import type { Contact, Directory } from '../people/directory.ts';
import { isDigest, type Category, type Frequency } from '../preferences/categories.ts';
import { frequenciesFor } from '../preferences/preference.service.ts';
import { insertDigestItems, insertNotifications } from './inbox.store.ts';
import type { InboxPublisher, NotificationAddedPayload } from './notification-added.ts';

export interface NewItem {
  category: Category;
  title: string;
  body: string;
  link: string | null;
  courseId: string | null;
}

export interface DeliveryRequest {
  tenantId: string;
  /** The event the item comes from (the idempotency of the whole delivery). */
  eventId: string;
  item: NewItem;
  userIds: readonly string[];
  /** How to email the item at once; without it the item is in-app only. */
  email?: { kind: EmailKind; compose(contact: Contact): MailMessage };
}

export interface DeliveryReport {
  created: number;
  inApp: number;
  pending: number;
  emailed: number;
}

export interface DeliveryDeps {
  orm: MikroORM;
  mailer: Mailer;
  directory: Directory;
  log: Logger;
  /** Publishes new in-app items to notificationAdded; none: nothing is published. */
  live?: InboxPublisher;
}

const CHUNK = 500;

export class DeliveryService {
  #deps: DeliveryDeps;
  constructor(deps: DeliveryDeps) {
    this.#deps = deps;
  }

  async deliver(em: EntityManager, req: DeliveryRequest): Promise<DeliveryReport> {
    const userIds = [...new Set(req.userIds)];
    const frequencies = await frequenciesFor(em, req.tenantId, userIds, req.item.category);
    const plan = userIds
      .map((userId) => {
        const f = frequencies.get(userId)!;
        const email: Frequency = req.email ? f.EMAIL : 'OFF';
        return { userId, id: randomUUID(), inApp: f.IN_APP !== 'OFF', email };
      })
      .filter((p) => p.inApp || p.email !== 'OFF');
    const report: DeliveryReport = { created: 0, inApp: 0, pending: 0, emailed: 0 };
    const created = new Map<string, Date>();
    for (let i = 0; i < plan.length; i += CHUNK) {
      const rows = plan.slice(i, i + CHUNK).map((p) => ({
        id: p.id,
        user_id: p.userId,
        in_app: p.inApp,
      }));
      const inserted = await insertNotifications(em, req.tenantId, req.eventId, req.item, rows);
      for (const row of inserted) created.set(row.id, row.createdAt);
    }
    const fresh = plan.filter((p) => created.has(p.id));
    report.created = fresh.length;
    const inApp = fresh.filter((p) => p.inApp);
    report.inApp = inApp.length;
    const { category, title, body, link, courseId } = req.item;
    this.#deps.live?.afterCommit(
      em,
      req.tenantId,
      inApp.map((p): NotificationAddedPayload => ({ id: p.id, userId: p.userId, category, title, body, link, courseId, createdAt: created.get(p.id)!.toISOString() })),
    );
    const digests = fresh.filter((p) => isDigest(p.email));
    for (let i = 0; i < digests.length; i += CHUNK) {
      const rows = digests.slice(i, i + CHUNK).map((p) => ({ notification_id: p.id, user_id: p.userId, frequency: p.email }));
      await insertDigestItems(em, req.tenantId, rows);
    }
    report.pending = digests.length;
    const immediate = fresh.filter((p) => p.email === 'IMMEDIATE');
    if (req.email && immediate.length) report.emailed = await this.#emailNow(req, req.email, immediate.map((p) => p.userId));
    return report;
  }

  async #emailNow(req: DeliveryRequest, email: NonNullable<DeliveryRequest['email']>, userIds: string[]): Promise<number> {
    const { orm, mailer, directory } = this.#deps;
    const contacts = await directory.contacts(req.tenantId, userIds);
    let sent = 0;
    for (const userId of userIds) {
      const contact = contacts.get(userId);
      if (!contact) continue; // left the organization since: nothing to send
      const outcome = await inTenant(orm, req.tenantId, (uow) =>
        uow.write((em) =>
          sendEmailOnce(em, mailer, {
            tenantId: req.tenantId,
            userId,
            kind: email.kind,
            dedupeKey: `${email.kind.toLowerCase()}:${req.eventId}:${userId}`,
            compose: async () => email.compose(contact),
          }),
        ),
      );
      if (outcome === 'sent') sent++;
    }
    return sent;
  }
}
