// Learning's tables. Every table is a tenant table (RLS via h.tenantTable) and every key
// carries tenant_id.
//
// - enrollments / cohort_instructors: the projection of enrollment's events (who is enrolled
//   in which cohort and course version; who teaches which cohort). Course progress state
//   (progress_status, completed_at, completed_tx) lives on the enrollment row: it is also the
//   row every progress write locks first, which serialises writers per enrollment.
// - course_versions / version_lessons: the projection of catalog's course structure (a
//   published version is immutable, so it is fetched once).
// - lesson_progress: the merged state per enrollment and lesson (coverage as an
//   int4multirange, last-writer-wins position, quiz passed, status, completion).
// - device_watch: watched time per device: hb_seconds (sum of heartbeat deltas, deduplicated
//   by the last applied stream id) and sync_seconds (device-cumulative, a max). A device's
//   time is the greater of the two; a lesson's is the sum over devices (a G-counter).
// - completion_policies: per course, the rules as data (jsonb).
import type { Migration } from '@lectern/kernel/db';

export const m0001: Migration = {
  id: '0001-learning',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('course_versions')} (
         tenant_id uuid NOT NULL,
         id uuid NOT NULL,
         course_id uuid NOT NULL,
         fetched_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, id)
       )`,
      ...h.tenantTable('course_versions'),
      `CREATE TABLE ${t('version_lessons')} (
         tenant_id uuid NOT NULL,
         version_id uuid NOT NULL,
         lesson_id uuid NOT NULL,
         lineage_id uuid NOT NULL,
         course_id uuid NOT NULL,
         position integer NOT NULL,
         kind text NOT NULL CHECK (kind IN ('VIDEO', 'TEXT', 'QUIZ', 'EXTERNAL')),
         required boolean NOT NULL,
         duration_seconds integer,
         quiz_id uuid,
         PRIMARY KEY (tenant_id, version_id, lesson_id),
         FOREIGN KEY (tenant_id, version_id) REFERENCES ${t('course_versions')} (tenant_id, id)
       )`,
      `CREATE INDEX version_lessons_quiz ON ${t('version_lessons')} (tenant_id, quiz_id) WHERE quiz_id IS NOT NULL`,
      ...h.tenantTable('version_lessons'),
      `CREATE TABLE ${t('enrollments')} (
         tenant_id uuid NOT NULL,
         id uuid NOT NULL,
         learner_id uuid NOT NULL,
         offering_id uuid NOT NULL,
         cohort_id uuid NOT NULL,
         course_id uuid NOT NULL,
         course_version_id uuid NOT NULL,
         status text NOT NULL CHECK (status IN ('ACTIVE', 'COMPLETED', 'DROPPED')),
         progress_status text NOT NULL DEFAULT 'NOT_STARTED' CHECK (progress_status IN ('NOT_STARTED', 'IN_PROGRESS', 'COMPLETED')),
         started_at timestamptz,
         completed_at timestamptz,
         completed_tx bigint,
         enrolled_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, id),
         FOREIGN KEY (tenant_id, course_version_id) REFERENCES ${t('course_versions')} (tenant_id, id)
       )`,
      `CREATE INDEX enrollments_learner ON ${t('enrollments')} (tenant_id, learner_id, course_id)`,
      `CREATE INDEX enrollments_cohort ON ${t('enrollments')} (tenant_id, cohort_id)`,
      ...h.tenantTable('enrollments'),
      `CREATE TABLE ${t('cohort_instructors')} (
         tenant_id uuid NOT NULL,
         cohort_id uuid NOT NULL,
         instructor_id uuid NOT NULL,
         PRIMARY KEY (tenant_id, cohort_id, instructor_id)
       )`,
      `CREATE INDEX cohort_instructors_instructor ON ${t('cohort_instructors')} (tenant_id, instructor_id)`,
      ...h.tenantTable('cohort_instructors'),
      `CREATE TABLE ${t('completion_policies')} (
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         rules jsonb NOT NULL,
         updated_by uuid,
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, course_id)
       )`,
      ...h.tenantTable('completion_policies'),
      `CREATE TABLE ${t('lesson_progress')} (
         tenant_id uuid NOT NULL,
         enrollment_id uuid NOT NULL,
         lesson_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         status text NOT NULL CHECK (status IN ('NOT_STARTED', 'IN_PROGRESS', 'COMPLETED')),
         position integer NOT NULL DEFAULT 0,
         position_at timestamptz,
         position_device text NOT NULL DEFAULT '',
         watched int4multirange NOT NULL DEFAULT '{}',
         covered_seconds integer NOT NULL DEFAULT 0,
         watched_seconds integer NOT NULL DEFAULT 0,
         reported_duration integer,
         opened boolean NOT NULL DEFAULT false,
         quiz_passed boolean NOT NULL DEFAULT false,
         started_at timestamptz NOT NULL DEFAULT now(),
         completed_at timestamptz,
         completed_tx bigint,
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, enrollment_id, lesson_id),
         FOREIGN KEY (tenant_id, enrollment_id) REFERENCES ${t('enrollments')} (tenant_id, id)
       )`,
      ...h.tenantTable('lesson_progress'),
      `CREATE TABLE ${t('device_watch')} (
         tenant_id uuid NOT NULL,
         enrollment_id uuid NOT NULL,
         lesson_id uuid NOT NULL,
         device_id text NOT NULL,
         hb_seconds integer NOT NULL DEFAULT 0,
         hb_last_ms bigint NOT NULL DEFAULT 0,
         hb_last_seq bigint NOT NULL DEFAULT 0,
         sync_seconds integer NOT NULL DEFAULT 0,
         PRIMARY KEY (tenant_id, enrollment_id, lesson_id, device_id)
       )`,
      ...h.tenantTable('device_watch'),
    ];
  },
};
