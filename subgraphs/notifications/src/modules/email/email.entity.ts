// The log of emails sent, one row per dedupe key (claimed before the message goes out).
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';

export const EMAIL_KINDS = ['INVITATION', 'COURSE_PUBLISHED', 'DIGEST', 'ENROLLMENT_CONFIRMED', 'WAITLIST_PROMOTED', 'COURSE_COMPLETED', 'CERTIFICATE_ISSUED'] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

export const EmailSentSchema = defineEntity({
  name: 'EmailSent',
  tableName: 'emails_sent',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid(),
    kind: p.string().$type<EmailKind>(),
    dedupeKey: p.string(),
    subject: p.string(),
    sentAt: p.datetime(),
    messageId: p.string().nullable(),
  },
});
export class EmailSent extends EmailSentSchema.class {}
EmailSentSchema.setClass(EmailSent);
