// Sends an organization's due digests: for each user with pending items whose local time has
// passed the period's 08:00 and who has no digest for that period yet, one email listing every
// pending item once. Each user's digest is its own transaction: the digest row (unique per
// user, frequency and period: a concurrent run loses), the items it takes (digest_id set, so
// they never appear in another digest) and the email claim commit together with the send.
import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { inTenant, type Logger } from '@lectern/kernel';
import { sendEmailOnce } from '../email/email.service.ts';
import type { Mailer } from '../email/mailer.ts';
import { digestEmail } from '../email/templates.ts';
import type { Contact, Directory } from '../people/directory.ts';
import type { DigestFrequency } from '../preferences/categories.ts';
import { digestEntries, insertDigest, lockPendingItems, pendingDigests, sentDigests, takeItems } from './digest.store.ts';
import { duePeriod, safeTimeZone } from './period.ts';

export interface DigestSent {
  userId: string;
  frequency: DigestFrequency;
  periodKey: string;
  items: number;
}

export interface DigestRunReport {
  /** Users and frequencies with pending items. */
  pending: number;
  sent: DigestSent[];
}

interface Candidate {
  userId: string;
  frequency: DigestFrequency;
  periodKey: string;
  contact: Contact;
}

export interface DigestDeps {
  orm: MikroORM;
  mailer: Mailer;
  directory: Directory;
  log: Logger;
  env: { PUBLIC_APP_URL: string };
}

export class DigestService {
  #deps: DigestDeps;
  constructor(deps: DigestDeps) {
    this.#deps = deps;
  }

  async run(tenantId: string, now: Date): Promise<DigestRunReport> {
    const { orm, directory, log } = this.#deps;
    const pending = await inTenant(orm, tenantId, async (uow) => pendingDigests(await uow.em(), tenantId));
    if (pending.length === 0) return { pending: 0, sent: [] };
    const contacts = await directory.contacts(tenantId, pending.map((p) => p.userId));
    let candidates: Candidate[] = [];
    for (const p of pending) {
      // No contact: no longer a member of the organization. The items wait (they go out if the
      // person comes back); nothing can be sent to them now.
      const contact = contacts.get(p.userId);
      const periodKey = contact ? duePeriod(p.frequency, now, contact.timeZone) : null;
      if (contact && periodKey) candidates.push({ userId: p.userId, frequency: p.frequency, periodKey, contact });
    }
    if (candidates.length) {
      const done = await inTenant(orm, tenantId, async (uow) =>
        sentDigests(await uow.em(), tenantId, candidates.map((c) => c.userId), candidates.map((c) => c.periodKey)),
      );
      const sentAlready = new Set(done.map((d) => `${d.userId}:${d.frequency}:${d.periodKey}`));
      candidates = candidates.filter((c) => !sentAlready.has(`${c.userId}:${c.frequency}:${c.periodKey}`));
    }
    const report: DigestRunReport = { pending: pending.length, sent: [] };
    if (candidates.length === 0) return report;
    const { organization } = await directory.members(tenantId);
    const failures: unknown[] = [];
    for (const candidate of candidates) {
      try {
        const sent = await inTenant(orm, tenantId, (uow) => uow.write((em) => this.#sendOne(em, tenantId, organization.name, candidate)));
        if (sent) report.sent.push(sent);
      } catch (err) {
        // The others still go out; the job fails afterwards so this one is retried.
        log.warn({ err, tenantId, userId: candidate.userId, frequency: candidate.frequency }, 'digest failed; will retry');
        failures.push(err);
      }
    }
    if (failures.length) throw new Error(`${failures.length} of ${candidates.length} digests failed: ${String((failures[0] as Error)?.message ?? failures[0])}`);
    return report;
  }

  async #sendOne(em: EntityManager, tenantId: string, organizationName: string, c: Candidate): Promise<DigestSent | null> {
    const { mailer, env } = this.#deps;
    // Locks the items, so a concurrent run waits here and then finds them taken.
    const items = await lockPendingItems(em, tenantId, c.userId, c.frequency);
    if (items.length === 0) return null;
    const digestId = randomUUID();
    const created = await insertDigest(em, { id: digestId, tenantId, userId: c.userId, frequency: c.frequency, periodKey: c.periodKey, itemCount: items.length });
    if (!created) return null;
    await takeItems(em, tenantId, digestId, items);
    const entries = await digestEntries(em, tenantId, items);
    await sendEmailOnce(em, mailer, {
      tenantId,
      userId: c.userId,
      kind: 'DIGEST',
      dedupeKey: `digest:${c.frequency}:${c.periodKey}:${c.userId}`,
      compose: async () =>
        digestEmail({
          to: c.contact,
          organizationName,
          frequency: c.frequency,
          entries,
          timeZone: safeTimeZone(c.contact.timeZone),
          inboxUrl: `${env.PUBLIC_APP_URL}/notifications`,
          preferencesUrl: `${env.PUBLIC_APP_URL}/settings/notifications`,
        }),
    });
    return { userId: c.userId, frequency: c.frequency, periodKey: c.periodKey, items: items.length };
  }
}
