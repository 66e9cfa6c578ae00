// The inbox, preferences, digests and the email log. Every tenant table has tenant_id, FORCE
// row-level security (h.tenantTable) and keys that include the tenant.
//
// One table is deliberately not a tenant table: `organizations`, the registry of organizations
// notifications has seen an event of, holding nothing but their ids. The worker reads it at
// start, before any tenant is known, to re-create every organization's digest schedule; under
// RLS a unit of work without a tenant would see none of it.
import type { Migration } from '@lectern/kernel/db';

const CATEGORY = `('COURSES', 'MEMBERSHIP', 'SYSTEM')`;
const FREQUENCY = `('IMMEDIATE', 'DAILY', 'WEEKLY', 'OFF')`;

export const m0001: Migration = {
  id: '0001-notifications',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      // One item per (user, source event, category): a redelivered event never adds a second.
      // in_app is false when the user turned in-app notifications of the category off but still
      // gets them by email (the row is what digests point at).
      `CREATE TABLE ${t('notifications')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         user_id uuid NOT NULL,
         category text NOT NULL CHECK (category IN ${CATEGORY}),
         title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
         body text NOT NULL DEFAULT '' CHECK (length(body) <= 5000),
         link text CHECK (length(link) <= 2048),
         course_id uuid,
         in_app boolean NOT NULL DEFAULT true,
         source_event_id uuid NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         read_at timestamptz,
         CONSTRAINT notifications_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT notifications_source_uq UNIQUE (tenant_id, user_id, source_event_id, category)
       )`,
      `CREATE INDEX notifications_inbox ON ${t('notifications')} (tenant_id, user_id, created_at DESC, id DESC) WHERE in_app`,
      `CREATE INDEX notifications_unread ON ${t('notifications')} (tenant_id, user_id) WHERE in_app AND read_at IS NULL`,
      ...h.tenantTable('notifications'),

      // Only what a user changed; no row means the default (see preferences/defaults.ts).
      `CREATE TABLE ${t('preferences')} (
         tenant_id uuid NOT NULL,
         user_id uuid NOT NULL,
         category text NOT NULL CHECK (category IN ${CATEGORY}),
         channel text NOT NULL CHECK (channel IN ('IN_APP', 'EMAIL')),
         frequency text NOT NULL CHECK (frequency IN ${FREQUENCY}),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, user_id, category, channel),
         CONSTRAINT preferences_in_app_ck CHECK (channel = 'EMAIL' OR frequency IN ('IMMEDIATE', 'OFF'))
       )`,
      ...h.tenantTable('preferences'),

      // One digest per user, frequency and period (the user's local day or ISO week): the
      // unique key is what makes a concurrent run of the same period lose.
      `CREATE TABLE ${t('digests')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         user_id uuid NOT NULL,
         frequency text NOT NULL CHECK (frequency IN ('DAILY', 'WEEKLY')),
         period_key text NOT NULL,
         sent_at timestamptz NOT NULL DEFAULT now(),
         item_count integer NOT NULL DEFAULT 0 CHECK (item_count >= 0),
         CONSTRAINT digests_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT digests_period_uq UNIQUE (tenant_id, user_id, frequency, period_key)
       )`,
      ...h.tenantTable('digests'),

      // Items waiting for a digest; digest_id is set once, by the digest that sends them.
      `CREATE TABLE ${t('digest_items')} (
         tenant_id uuid NOT NULL,
         user_id uuid NOT NULL,
         notification_id uuid NOT NULL,
         frequency text NOT NULL CHECK (frequency IN ('DAILY', 'WEEKLY')),
         created_at timestamptz NOT NULL DEFAULT now(),
         digest_id uuid,
         PRIMARY KEY (tenant_id, notification_id),
         CONSTRAINT digest_items_notification_fk FOREIGN KEY (tenant_id, notification_id) REFERENCES ${t('notifications')} (tenant_id, id) ON DELETE CASCADE,
         CONSTRAINT digest_items_digest_fk FOREIGN KEY (tenant_id, digest_id) REFERENCES ${t('digests')} (tenant_id, id)
       )`,
      `CREATE INDEX digest_items_pending ON ${t('digest_items')} (tenant_id, user_id, frequency) WHERE digest_id IS NULL`,
      ...h.tenantTable('digest_items'),

      // Every email, claimed by its dedupe key before it is sent (no addresses: they are
      // fetched from identity at send time and never stored here).
      `CREATE TABLE ${t('emails_sent')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         user_id uuid NOT NULL,
         kind text NOT NULL CHECK (kind IN ('INVITATION', 'COURSE_PUBLISHED', 'DIGEST')),
         dedupe_key text NOT NULL CHECK (length(dedupe_key) <= 300),
         subject text NOT NULL,
         sent_at timestamptz NOT NULL DEFAULT now(),
         message_id text,
         CONSTRAINT emails_sent_dedupe_uq UNIQUE (tenant_id, dedupe_key)
       )`,
      `CREATE INDEX emails_sent_user ON ${t('emails_sent')} (tenant_id, user_id, sent_at DESC)`,
      ...h.tenantTable('emails_sent'),

      // Courses announced as new (catalog emits previousVersionId null again when an
      // unpublished course is republished: it is announced once all the same).
      `CREATE TABLE ${t('course_announcements')} (
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         source_event_id uuid NOT NULL,
         announced_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, course_id)
       )`,
      ...h.tenantTable('course_announcements'),

      `CREATE TABLE ${t('organizations')} (
         id uuid PRIMARY KEY,
         first_seen_at timestamptz NOT NULL DEFAULT now()
       )`,
    ];
  },
};
