// Certification's tables. Every table but the `public_*` and `pending_*` ones is a tenant table
// (RLS via h.tenantTable) and every key carries tenant_id.
//
// - certificate_rules: per course, whether completing it earns a certificate, an optional
//   minimum grade in each of the completed version's quizzes, and how long a certificate stays
//   valid (null: forever).
// - completions: the projection of learning's CourseCompleted, one row per enrollment that
//   completed (whatever the rule says: a rule enabled later, or a grade arriving later, finds it).
// - quiz_grades: the projection of assessment's QuizPassed / QuizFailed: each learner's current
//   grade per quiz (the newest event wins: graded_at is the event's time).
// - course_versions: what certification needs of a completed course version, asked of catalog
//   once (published versions never change): its title, description and quizzes.
// - certificates: one per completion at most (UNIQUE (tenant_id, enrollment_id): exactly one
//   certificate per completion, whatever the redelivery). PENDING until the worker stored its
//   signed credential and PDF (ISSUED), or gave up (FAILED). Revocation is kept on the row and
//   in the organization's status list.
// - issuers: the organization's Ed25519 issuer key (did:key), its secret sealed with
//   CERTIFICATION_SECRET. One per organization, made on first issue.
// - status_lists: the organization's revocation bitstrings (131072 entries each); a certificate
//   takes the next slot of the newest list that has one, and its index is a scattered
//   permutation of the slot (multiplier, offset), as the spec asks.
// - branding: the organization's logo for PDFs.
// - public_issuers / public_status_lists: what anyone may read without an organization (the
//   verifier answers strangers): which did:key belongs to which organization (and its name at
//   the last issue), and each status list's signed credential as published. No secrets.
// - pending_certificates: ids of certificates waiting for the worker, across organizations, so
//   the sweep can (re)enqueue those whose job Redis never got or lost. A row goes once the
//   certificate is ISSUED or FAILED.
import type { Migration } from '@lectern/kernel/db';

export const m0001: Migration = {
  id: '0001-certification',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('certificate_rules')} (
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         enabled boolean NOT NULL,
         minimum_quiz_grade double precision CHECK (minimum_quiz_grade BETWEEN 0 AND 1),
         valid_for_days integer CHECK (valid_for_days BETWEEN 1 AND 36500),
         updated_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, course_id)
       )`,
      ...h.tenantTable('certificate_rules'),

      `CREATE TABLE ${t('completions')} (
         tenant_id uuid NOT NULL,
         enrollment_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         course_id uuid NOT NULL,
         course_version_id uuid NOT NULL,
         completed_at timestamptz NOT NULL,
         PRIMARY KEY (tenant_id, enrollment_id)
       )`,
      `CREATE INDEX completions_learner ON ${t('completions')} (tenant_id, learner_id)`,
      `CREATE INDEX completions_course ON ${t('completions')} (tenant_id, course_id)`,
      ...h.tenantTable('completions'),

      `CREATE TABLE ${t('quiz_grades')} (
         tenant_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         quiz_id uuid NOT NULL,
         score double precision NOT NULL CHECK (score BETWEEN 0 AND 1),
         graded_at timestamptz NOT NULL,
         PRIMARY KEY (tenant_id, learner_id, quiz_id)
       )`,
      ...h.tenantTable('quiz_grades'),

      `CREATE TABLE ${t('course_versions')} (
         tenant_id uuid NOT NULL,
         version_id uuid NOT NULL,
         course_id uuid NOT NULL,
         title text NOT NULL,
         description text NOT NULL,
         quiz_ids uuid[] NOT NULL,
         PRIMARY KEY (tenant_id, version_id)
       )`,
      ...h.tenantTable('course_versions'),

      `CREATE TABLE ${t('status_lists')} (
         tenant_id uuid NOT NULL,
         id uuid NOT NULL,
         seq bigserial NOT NULL,
         multiplier integer NOT NULL CHECK (multiplier % 2 = 1),
         "offset" integer NOT NULL,
         next_slot integer NOT NULL DEFAULT 0,
         bits bytea NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, id)
       )`,
      ...h.tenantTable('status_lists'),

      `CREATE TABLE ${t('certificates')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         enrollment_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         course_id uuid NOT NULL,
         course_version_id uuid NOT NULL,
         status text NOT NULL CHECK (status IN ('PENDING', 'ISSUED', 'FAILED')),
         issued_at timestamptz NOT NULL,
         valid_until timestamptz,
         status_list_id uuid NOT NULL,
         status_list_index integer NOT NULL,
         credential jsonb,
         pdf_key text,
         pdf_bytes integer,
         attempts integer NOT NULL DEFAULT 0,
         failure_reason text,
         revoked_at timestamptz,
         revoked_by uuid,
         revocation_reason text,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT certificates_one_per_completion UNIQUE (tenant_id, enrollment_id),
         CONSTRAINT certificates_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT certificates_status_entry UNIQUE (tenant_id, status_list_id, status_list_index),
         CONSTRAINT certificates_issued CHECK (status <> 'ISSUED' OR (credential IS NOT NULL AND pdf_key IS NOT NULL)),
         CONSTRAINT certificates_revoked CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
       )`,
      `CREATE INDEX certificates_list ON ${t('certificates')} (tenant_id, seq)`,
      `CREATE INDEX certificates_learner ON ${t('certificates')} (tenant_id, learner_id, seq)`,
      ...h.tenantTable('certificates'),

      `CREATE TABLE ${t('issuers')} (
         tenant_id uuid PRIMARY KEY,
         did text NOT NULL UNIQUE,
         public_key_multibase text NOT NULL,
         sealed_secret bytea NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      ...h.tenantTable('issuers'),

      `CREATE TABLE ${t('branding')} (
         tenant_id uuid PRIMARY KEY,
         logo bytea,
         logo_type text CHECK (logo_type IN ('png', 'jpeg')),
         updated_by uuid,
         updated_at timestamptz NOT NULL DEFAULT now(),
         CHECK ((logo IS NULL) = (logo_type IS NULL))
       )`,
      ...h.tenantTable('branding'),

      `CREATE TABLE ${t('public_issuers')} (
         did text PRIMARY KEY,
         organization_id uuid NOT NULL UNIQUE,
         name text NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE ${t('public_status_lists')} (
         id uuid PRIMARY KEY,
         organization_id uuid NOT NULL,
         credential jsonb NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE ${t('pending_certificates')} (
         certificate_id uuid PRIMARY KEY,
         organization_id uuid NOT NULL,
         since timestamptz NOT NULL DEFAULT now()
       )`,
    ];
  },
};
