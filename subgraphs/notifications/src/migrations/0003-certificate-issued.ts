// A learner is told when their certificate of a course is issued (certification's
// CertificateIssued): one more category of items and preferences, and one more kind of email.
import type { Migration } from '@lectern/kernel/db';

const CATEGORY = `('COURSES', 'MEMBERSHIP', 'SYSTEM', 'ENROLLMENT_CONFIRMED', 'WAITLIST_PROMOTED', 'COURSE_COMPLETED', 'CERTIFICATE_ISSUED')`;
const EMAIL_KIND = `('INVITATION', 'COURSE_PUBLISHED', 'DIGEST', 'ENROLLMENT_CONFIRMED', 'WAITLIST_PROMOTED', 'COURSE_COMPLETED', 'CERTIFICATE_ISSUED')`;

export const m0003: Migration = {
  id: '0003-certificate-issued',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `ALTER TABLE ${t('notifications')} DROP CONSTRAINT notifications_category_check`,
      `ALTER TABLE ${t('notifications')} ADD CONSTRAINT notifications_category_check CHECK (category IN ${CATEGORY})`,
      `ALTER TABLE ${t('preferences')} DROP CONSTRAINT preferences_category_check`,
      `ALTER TABLE ${t('preferences')} ADD CONSTRAINT preferences_category_check CHECK (category IN ${CATEGORY})`,
      `ALTER TABLE ${t('emails_sent')} DROP CONSTRAINT emails_sent_kind_check`,
      `ALTER TABLE ${t('emails_sent')} ADD CONSTRAINT emails_sent_kind_check CHECK (kind IN ${EMAIL_KIND})`,
    ];
  },
};
