// Three categories learners care about (their enrollment confirmed, a waitlisted enrollment
// promoted, a course completed), their emails, and the record of dead-letter replays.
//
// Dead letters are the exhausted failed jobs of every Lectern queue (BullMQ keeps them in each
// queue's failed set); notifications' operator view lists and replays them. `dead_letter_replays`
// remembers who replayed which job and how often (a replayed job leaves the failed set, so a
// second replay is told apart from an unknown id). A job of no organization (a bad envelope)
// has a null tenant_id: like the kernel's dead_letters, visible only to a unit of work without
// a tenant (SUPER_ADMIN).
import type { Migration } from '@lectern/kernel/db';

const CATEGORY = `('COURSES', 'MEMBERSHIP', 'SYSTEM', 'ENROLLMENT_CONFIRMED', 'WAITLIST_PROMOTED', 'COURSE_COMPLETED')`;
const EMAIL_KIND = `('INVITATION', 'COURSE_PUBLISHED', 'DIGEST', 'ENROLLMENT_CONFIRMED', 'WAITLIST_PROMOTED', 'COURSE_COMPLETED')`;
const NULLABLE_TENANT = `tenant_id IS NOT DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid`;

export const m0002: Migration = {
  id: '0002-learner-categories-and-replays',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `ALTER TABLE ${t('notifications')} DROP CONSTRAINT notifications_category_check`,
      `ALTER TABLE ${t('notifications')} ADD CONSTRAINT notifications_category_check CHECK (category IN ${CATEGORY})`,
      `ALTER TABLE ${t('preferences')} DROP CONSTRAINT preferences_category_check`,
      `ALTER TABLE ${t('preferences')} ADD CONSTRAINT preferences_category_check CHECK (category IN ${CATEGORY})`,
      `ALTER TABLE ${t('emails_sent')} DROP CONSTRAINT emails_sent_kind_check`,
      `ALTER TABLE ${t('emails_sent')} ADD CONSTRAINT emails_sent_kind_check CHECK (kind IN ${EMAIL_KIND})`,

      `CREATE TABLE ${t('dead_letter_replays')} (
         queue text NOT NULL,
         job_id text NOT NULL,
         tenant_id uuid,
         replay_count int NOT NULL DEFAULT 1 CHECK (replay_count > 0),
         replayed_at timestamptz NOT NULL DEFAULT now(),
         replayed_by uuid,
         PRIMARY KEY (queue, job_id)
       )`,
      `ALTER TABLE ${t('dead_letter_replays')} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${t('dead_letter_replays')} FORCE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${t('dead_letter_replays')} USING (${NULLABLE_TENANT}) WITH CHECK (${NULLABLE_TENANT})`,
    ];
  },
};
