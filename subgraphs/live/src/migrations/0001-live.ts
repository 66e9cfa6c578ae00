// Live's tables. Every table is a tenant table (RLS via h.tenantTable) and every key carries
// tenant_id.
//
// - roster_cohorts / roster_enrollments: the projection of enrollment's events (which cohorts
//   an offering has and who teaches them; who holds an active seat in which cohort). Who may
//   see and join a session is read from them.
// - sessions: live classes within an offering; `cohort_ids` null means every cohort of it.
// - chat_messages: a session's chat, in arrival order (`seq`); deleted messages keep their row.
// - moderation_actions: every moderation action (who, when, what, on whom, why); append-only.
// - mutes: who may not chat in a session until when.
// - raised_hands: the raise-hand queue of a session, in arrival order (`seq`).
// - attendance_intervals: join/leave intervals per participant while the session is LIVE;
//   at most one open interval per participant and session (partial unique index).
import type { Migration } from '@lectern/kernel/db';

export const m0001: Migration = {
  id: '0001-live',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('roster_cohorts')} (
         tenant_id uuid NOT NULL,
         cohort_id uuid NOT NULL,
         offering_id uuid NOT NULL,
         instructor_ids uuid[] NOT NULL DEFAULT '{}',
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, cohort_id)
       )`,
      `CREATE INDEX roster_cohorts_offering ON ${t('roster_cohorts')} (tenant_id, offering_id)`,
      ...h.tenantTable('roster_cohorts'),
      `CREATE TABLE ${t('roster_enrollments')} (
         tenant_id uuid NOT NULL,
         enrollment_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         offering_id uuid NOT NULL,
         cohort_id uuid NOT NULL,
         status text NOT NULL CHECK (status IN ('ACTIVE', 'DROPPED')),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, enrollment_id)
       )`,
      `CREATE INDEX roster_enrollments_learner ON ${t('roster_enrollments')} (tenant_id, learner_id, offering_id)`,
      ...h.tenantTable('roster_enrollments'),
      `CREATE TABLE ${t('sessions')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         offering_id uuid NOT NULL,
         cohort_ids uuid[],
         title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
         starts_at timestamptz NOT NULL,
         ends_at timestamptz NOT NULL,
         join_url text NOT NULL,
         status text NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'LIVE', 'ENDED')),
         started_at timestamptz,
         ended_at timestamptz,
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT sessions_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT sessions_dates_ck CHECK (ends_at > starts_at)
       )`,
      `CREATE INDEX sessions_offering ON ${t('sessions')} (tenant_id, offering_id, starts_at, seq)`,
      ...h.tenantTable('sessions'),
      `CREATE TABLE ${t('chat_messages')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         session_id uuid NOT NULL,
         author_id uuid NOT NULL,
         body text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         edited_at timestamptz,
         deleted_at timestamptz,
         deleted_by uuid,
         CONSTRAINT chat_messages_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT chat_messages_session_fk FOREIGN KEY (tenant_id, session_id) REFERENCES ${t('sessions')} (tenant_id, id)
       )`,
      `CREATE INDEX chat_messages_session ON ${t('chat_messages')} (tenant_id, session_id, seq)`,
      ...h.tenantTable('chat_messages'),
      `CREATE TABLE ${t('moderation_actions')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         session_id uuid NOT NULL,
         actor_id uuid NOT NULL,
         action text NOT NULL CHECK (action IN ('DELETE_MESSAGE', 'MUTE', 'UNMUTE', 'LOWER_HAND')),
         target_user_id uuid NOT NULL,
         message_id uuid,
         reason text,
         muted_until timestamptz,
         created_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT moderation_actions_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT moderation_actions_session_fk FOREIGN KEY (tenant_id, session_id) REFERENCES ${t('sessions')} (tenant_id, id)
       )`,
      `CREATE INDEX moderation_actions_session ON ${t('moderation_actions')} (tenant_id, session_id, seq)`,
      ...h.tenantTable('moderation_actions'),
      `CREATE TABLE ${t('mutes')} (
         tenant_id uuid NOT NULL,
         session_id uuid NOT NULL,
         user_id uuid NOT NULL,
         until timestamptz NOT NULL,
         muted_by uuid NOT NULL,
         PRIMARY KEY (tenant_id, session_id, user_id),
         FOREIGN KEY (tenant_id, session_id) REFERENCES ${t('sessions')} (tenant_id, id)
       )`,
      ...h.tenantTable('mutes'),
      `CREATE TABLE ${t('raised_hands')} (
         tenant_id uuid NOT NULL,
         session_id uuid NOT NULL,
         user_id uuid NOT NULL,
         seq bigserial NOT NULL,
         raised_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, session_id, user_id),
         FOREIGN KEY (tenant_id, session_id) REFERENCES ${t('sessions')} (tenant_id, id)
       )`,
      `CREATE INDEX raised_hands_queue ON ${t('raised_hands')} (tenant_id, session_id, seq)`,
      ...h.tenantTable('raised_hands'),
      `CREATE TABLE ${t('attendance_intervals')} (
         tenant_id uuid NOT NULL,
         id bigserial NOT NULL,
         session_id uuid NOT NULL,
         user_id uuid NOT NULL,
         joined_at timestamptz NOT NULL,
         left_at timestamptz,
         PRIMARY KEY (tenant_id, id),
         FOREIGN KEY (tenant_id, session_id) REFERENCES ${t('sessions')} (tenant_id, id),
         CHECK (left_at IS NULL OR left_at >= joined_at)
       )`,
      `CREATE UNIQUE INDEX attendance_open ON ${t('attendance_intervals')} (tenant_id, session_id, user_id) WHERE left_at IS NULL`,
      `CREATE INDEX attendance_session ON ${t('attendance_intervals')} (tenant_id, session_id, user_id, joined_at)`,
      ...h.tenantTable('attendance_intervals'),
    ];
  },
};
