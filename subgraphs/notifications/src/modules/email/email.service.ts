// The one way an email leaves Lectern. The dedupe key is claimed (unique per organization) in
// the caller's unit of work before anything else happens, the message is composed (which may
// ask identity for the address or mint a token) and sent, and the log row is completed; the
// claim commits with the send. A retried job whose first send committed finds the key taken
// and sends nothing; a send that failed rolls its claim back, so the retry sends it.
//
// The one window left is a commit that fails after the SMTP server accepted the message: the
// retry then sends it again (at least once, never silently lost).
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EmailKind } from './email.entity.ts';
import { claimEmail, markEmailSent, releaseEmail } from './email.store.ts';
import type { Mailer, MailMessage } from './mailer.ts';

export interface EmailRequest {
  tenantId: string;
  userId: string;
  kind: EmailKind;
  /** What makes this email unique in the organization, e.g. `digest:WEEKLY:2026-W47:<user>`. */
  dedupeKey: string;
  /** Builds the message once the key is claimed; null when there is nothing to send after all. */
  compose(): Promise<MailMessage | null>;
}

export type EmailOutcome = 'sent' | 'duplicate' | 'nothing-to-send';

export async function sendEmailOnce(em: EntityManager, mailer: Mailer, req: EmailRequest): Promise<EmailOutcome> {
  const id = randomUUID();
  const claimed = await claimEmail(em, { id, tenantId: req.tenantId, userId: req.userId, kind: req.kind, dedupeKey: req.dedupeKey });
  if (!claimed) return 'duplicate';
  const message = await req.compose();
  if (!message) {
    await releaseEmail(em, req.tenantId, id);
    return 'nothing-to-send';
  }
  const { messageId } = await mailer.send(message, { kind: req.kind, dedupeKey: req.dedupeKey });
  await markEmailSent(em, req.tenantId, id, message.subject.slice(0, 300), messageId);
  return 'sent';
}
