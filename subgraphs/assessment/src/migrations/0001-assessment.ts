// Assessment's tables. Every table but `open_attempt_deadlines` is a tenant table (RLS via
// h.tenantTable) and every key carries tenant_id.
//
// - roster_enrollments / roster_cohorts: the projection of enrollment's events: who holds an
//   active seat in which cohort of which course (who may take a course's quizzes), and who
//   teaches each cohort (who grades its learners' attempts).
// - question_banks, questions, question_versions: a bank's questions; a question's definition
//   (answer key included, the JSON of modules/grading/question.ts) lives in its versions, which
//   are never changed once written: attempts point at the version they showed.
// - quizzes, quiz_items: a course's quizzes and their fixed questions and random draws.
// - accommodations: per learner, for a course or one quiz.
// - attempt_counters: attempts started per (quiz, learner); the one row a start increments
//   conditionally, so the attempt limit holds exactly under concurrent starts.
// - attempts, attempt_items: an attempt and the questions it showed (version, presentation
//   seed), with the saved answer and its grade.
// - grade_changes: every change to a grade (who, when, from, to, why); append-only.
// - open_attempt_deadlines: ids and deadlines of attempts in progress, across organizations, so
//   the worker's sweep can submit the overdue ones whose delayed job Redis lost (it has no
//   tenant, and RLS hides every tenant row). Ids only; a row goes when its attempt is submitted.
import type { Migration } from '@lectern/kernel/db';

export const m0001: Migration = {
  id: '0001-assessment',
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
      `CREATE INDEX roster_cohorts_instructors ON ${t('roster_cohorts')} USING gin (instructor_ids)`,
      ...h.tenantTable('roster_cohorts'),
      `CREATE TABLE ${t('roster_enrollments')} (
         tenant_id uuid NOT NULL,
         enrollment_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         offering_id uuid NOT NULL,
         cohort_id uuid NOT NULL,
         course_id uuid NOT NULL,
         status text NOT NULL CHECK (status IN ('ACTIVE', 'DROPPED')),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, enrollment_id)
       )`,
      `CREATE INDEX roster_enrollments_learner ON ${t('roster_enrollments')} (tenant_id, learner_id, course_id)`,
      `CREATE INDEX roster_enrollments_cohort ON ${t('roster_enrollments')} (tenant_id, cohort_id)`,
      ...h.tenantTable('roster_enrollments'),

      `CREATE TABLE ${t('question_banks')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
         description text,
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT question_banks_tenant_id_uq UNIQUE (tenant_id, id)
       )`,
      `CREATE INDEX question_banks_seq ON ${t('question_banks')} (tenant_id, seq)`,
      ...h.tenantTable('question_banks'),
      `CREATE TABLE ${t('questions')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         bank_id uuid NOT NULL,
         type text NOT NULL,
         tags text[] NOT NULL DEFAULT '{}',
         current_version integer NOT NULL DEFAULT 1,
         archived_at timestamptz,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT questions_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT questions_bank_fk FOREIGN KEY (tenant_id, bank_id) REFERENCES ${t('question_banks')} (tenant_id, id)
       )`,
      `CREATE INDEX questions_bank ON ${t('questions')} (tenant_id, bank_id, seq)`,
      `CREATE INDEX questions_tags ON ${t('questions')} USING gin (tags)`,
      ...h.tenantTable('questions'),
      `CREATE TABLE ${t('question_versions')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         question_id uuid NOT NULL,
         number integer NOT NULL,
         definition jsonb NOT NULL,
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT question_versions_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT question_versions_number_uq UNIQUE (tenant_id, question_id, number),
         CONSTRAINT question_versions_question_fk FOREIGN KEY (tenant_id, question_id) REFERENCES ${t('questions')} (tenant_id, id)
       )`,
      ...h.tenantTable('question_versions'),

      `CREATE TABLE ${t('quizzes')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         course_id uuid NOT NULL,
         title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
         description text,
         published boolean NOT NULL DEFAULT false,
         time_limit_seconds integer CHECK (time_limit_seconds > 0),
         opens_at timestamptz,
         closes_at timestamptz,
         attempts_allowed integer CHECK (attempts_allowed > 0),
         grading_method text NOT NULL CHECK (grading_method IN ('HIGHEST', 'LAST', 'AVERAGE', 'FIRST')),
         pass_fraction numeric NOT NULL CHECK (pass_fraction BETWEEN 0 AND 1),
         shuffle_questions boolean NOT NULL DEFAULT false,
         shuffle_options boolean NOT NULL DEFAULT false,
         review_mode text NOT NULL CHECK (review_mode IN ('NONE', 'SCORE_ONLY', 'ANSWERS')),
         review_availability text NOT NULL CHECK (review_availability IN ('IMMEDIATELY', 'AFTER_CLOSE')),
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT quizzes_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT quizzes_window_ck CHECK (closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at)
       )`,
      `CREATE INDEX quizzes_course ON ${t('quizzes')} (tenant_id, course_id, seq)`,
      ...h.tenantTable('quizzes'),
      `CREATE TABLE ${t('quiz_items')} (
         tenant_id uuid NOT NULL,
         quiz_id uuid NOT NULL,
         position integer NOT NULL,
         question_id uuid,
         draw_count integer CHECK (draw_count BETWEEN 1 AND 100),
         draw_bank_id uuid,
         draw_tag text,
         PRIMARY KEY (tenant_id, quiz_id, position),
         CONSTRAINT quiz_items_kind_ck CHECK ((question_id IS NULL) <> (draw_count IS NULL)),
         CONSTRAINT quiz_items_quiz_fk FOREIGN KEY (tenant_id, quiz_id) REFERENCES ${t('quizzes')} (tenant_id, id) ON DELETE CASCADE,
         CONSTRAINT quiz_items_question_fk FOREIGN KEY (tenant_id, question_id) REFERENCES ${t('questions')} (tenant_id, id),
         CONSTRAINT quiz_items_bank_fk FOREIGN KEY (tenant_id, draw_bank_id) REFERENCES ${t('question_banks')} (tenant_id, id)
       )`,
      ...h.tenantTable('quiz_items'),

      `CREATE TABLE ${t('accommodations')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         course_id uuid,
         quiz_id uuid,
         time_multiplier numeric NOT NULL CHECK (time_multiplier BETWEEN 1 AND 10),
         extra_attempts integer NOT NULL CHECK (extra_attempts BETWEEN 0 AND 100),
         extension_seconds integer NOT NULL CHECK (extension_seconds >= 0),
         updated_by uuid,
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT accommodations_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT accommodations_scope_ck CHECK ((course_id IS NULL) <> (quiz_id IS NULL)),
         CONSTRAINT accommodations_quiz_fk FOREIGN KEY (tenant_id, quiz_id) REFERENCES ${t('quizzes')} (tenant_id, id)
       )`,
      `CREATE UNIQUE INDEX accommodations_course_uq ON ${t('accommodations')} (tenant_id, learner_id, course_id) WHERE course_id IS NOT NULL`,
      `CREATE UNIQUE INDEX accommodations_quiz_uq ON ${t('accommodations')} (tenant_id, learner_id, quiz_id) WHERE quiz_id IS NOT NULL`,
      ...h.tenantTable('accommodations'),

      `CREATE TABLE ${t('attempt_counters')} (
         tenant_id uuid NOT NULL,
         quiz_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         started integer NOT NULL,
         PRIMARY KEY (tenant_id, quiz_id, learner_id),
         CONSTRAINT attempt_counters_quiz_fk FOREIGN KEY (tenant_id, quiz_id) REFERENCES ${t('quizzes')} (tenant_id, id)
       )`,
      ...h.tenantTable('attempt_counters'),
      `CREATE TABLE ${t('attempts')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         quiz_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         enrollment_id uuid NOT NULL,
         number integer NOT NULL,
         status text NOT NULL DEFAULT 'IN_PROGRESS' CHECK (status IN ('IN_PROGRESS', 'SUBMITTED', 'GRADED')),
         seed text NOT NULL,
         started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
         time_limit_seconds integer,
         shuffle_options boolean NOT NULL DEFAULT false,
         deadline timestamptz,
         submitted_at timestamptz,
         auto_submitted boolean NOT NULL DEFAULT false,
         graded_at timestamptz,
         score numeric,
         max_score numeric NOT NULL,
         override_score numeric,
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT attempts_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT attempts_number_uq UNIQUE (tenant_id, quiz_id, learner_id, number),
         CONSTRAINT attempts_quiz_fk FOREIGN KEY (tenant_id, quiz_id) REFERENCES ${t('quizzes')} (tenant_id, id)
       )`,
      `CREATE INDEX attempts_quiz ON ${t('attempts')} (tenant_id, quiz_id, seq)`,
      `CREATE INDEX attempts_learner ON ${t('attempts')} (tenant_id, learner_id, quiz_id)`,
      `CREATE INDEX attempts_enrollment ON ${t('attempts')} (tenant_id, enrollment_id)`,
      `CREATE INDEX attempts_to_grade ON ${t('attempts')} (tenant_id, submitted_at, seq) WHERE status = 'SUBMITTED'`,
      ...h.tenantTable('attempts'),
      `CREATE TABLE ${t('attempt_items')} (
         tenant_id uuid NOT NULL,
         attempt_id uuid NOT NULL,
         position integer NOT NULL,
         question_id uuid NOT NULL,
         version_id uuid NOT NULL,
         answer jsonb,
         answered_at timestamptz,
         score numeric,
         max_score numeric NOT NULL,
         needs_grading boolean NOT NULL DEFAULT false,
         rubric jsonb,
         comment text,
         graded_by uuid,
         graded_at timestamptz,
         graded_version_id uuid,
         PRIMARY KEY (tenant_id, attempt_id, position),
         CONSTRAINT attempt_items_attempt_fk FOREIGN KEY (tenant_id, attempt_id) REFERENCES ${t('attempts')} (tenant_id, id),
         CONSTRAINT attempt_items_version_fk FOREIGN KEY (tenant_id, version_id) REFERENCES ${t('question_versions')} (tenant_id, id)
       )`,
      `CREATE INDEX attempt_items_version ON ${t('attempt_items')} (tenant_id, version_id)`,
      `CREATE INDEX attempt_items_question ON ${t('attempt_items')} (tenant_id, question_id)`,
      ...h.tenantTable('attempt_items'),
      `CREATE TABLE ${t('grade_changes')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         attempt_id uuid NOT NULL,
         position integer,
         kind text NOT NULL CHECK (kind IN ('AUTO_GRADED', 'MANUAL_GRADED', 'OVERRIDDEN', 'REGRADED')),
         from_score numeric,
         to_score numeric,
         changed_by uuid,
         reason text,
         changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
         CONSTRAINT grade_changes_attempt_fk FOREIGN KEY (tenant_id, attempt_id) REFERENCES ${t('attempts')} (tenant_id, id),
         CONSTRAINT grade_changes_reason_ck CHECK (kind <> 'OVERRIDDEN' OR length(btrim(reason)) > 0)
       )`,
      `CREATE INDEX grade_changes_attempt ON ${t('grade_changes')} (tenant_id, attempt_id, seq)`,
      ...h.tenantTable('grade_changes'),

      `CREATE TABLE ${t('open_attempt_deadlines')} (
         attempt_id uuid PRIMARY KEY,
         organization_id uuid NOT NULL,
         deadline timestamptz NOT NULL
       )`,
      `CREATE INDEX open_attempt_deadlines_due ON ${t('open_attempt_deadlines')} (deadline)`,
    ];
  },
};
