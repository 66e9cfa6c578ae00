// Offerings, cohorts, enrollments, course completions and roster imports. Every tenant table
// has RLS (h.tenantTable) and every key and foreign key carries tenant_id.
//
// Seats: cohorts.seats_taken counts the ACTIVE and COMPLETED enrollments of the cohort. It is
// only changed by guarded UPDATEs on the cohort row (which serialise seat changes of a cohort)
// and the CHECK keeps it within 0..capacity whatever the code does. One learner holds at most
// one non-dropped enrollment per offering (partial unique index).
import type { Migration } from '@lectern/kernel/db';

export const m0001: Migration = {
  id: '0001-enrollment',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('offerings')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         course_id uuid NOT NULL,
         course_version_id uuid NOT NULL,
         title text CHECK (length(title) BETWEEN 1 AND 200),
         starts_at timestamptz NOT NULL,
         ends_at timestamptz NOT NULL,
         enrollment_opens_at timestamptz,
         enrollment_closes_at timestamptz,
         self_enrollment boolean NOT NULL DEFAULT false,
         waitlist_enabled boolean NOT NULL DEFAULT false,
         prerequisite_course_ids uuid[] NOT NULL DEFAULT '{}',
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT offerings_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT offerings_dates_ck CHECK (ends_at > starts_at),
         CONSTRAINT offerings_window_ck CHECK (enrollment_opens_at IS NULL OR enrollment_closes_at IS NULL OR enrollment_closes_at > enrollment_opens_at)
       )`,
      `CREATE INDEX offerings_course ON ${t('offerings')} (tenant_id, course_id, seq)`,
      `CREATE INDEX offerings_list ON ${t('offerings')} (tenant_id, seq)`,
      ...h.tenantTable('offerings'),

      `CREATE TABLE ${t('cohorts')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         offering_id uuid NOT NULL,
         name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
         capacity integer NOT NULL CHECK (capacity >= 1),
         seats_taken integer NOT NULL DEFAULT 0,
         -- Arrival counter of the waitlist: each waitlisted enrollment takes the next number.
         waitlist_seq integer NOT NULL DEFAULT 0,
         instructor_ids uuid[] NOT NULL DEFAULT '{}',
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT cohorts_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT cohorts_offering_id_uq UNIQUE (tenant_id, offering_id, id),
         CONSTRAINT cohorts_seats_ck CHECK (seats_taken >= 0 AND seats_taken <= capacity),
         CONSTRAINT cohorts_offering_fk FOREIGN KEY (tenant_id, offering_id) REFERENCES ${t('offerings')} (tenant_id, id)
       )`,
      `CREATE INDEX cohorts_offering ON ${t('cohorts')} (tenant_id, offering_id, seq)`,
      `CREATE INDEX cohorts_instructors ON ${t('cohorts')} USING gin (instructor_ids)`,
      ...h.tenantTable('cohorts'),

      `CREATE TABLE ${t('enrollments')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         offering_id uuid NOT NULL,
         cohort_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         status text NOT NULL CHECK (status IN ('ACTIVE', 'WAITLISTED', 'DROPPED', 'COMPLETED')),
         waitlist_seq integer,
         enrolled_by uuid,
         enrolled_at timestamptz,
         dropped_at timestamptz,
         completed_at timestamptz,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT enrollments_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT enrollments_waitlist_ck CHECK ((status = 'WAITLISTED') = (waitlist_seq IS NOT NULL)),
         CONSTRAINT enrollments_cohort_fk FOREIGN KEY (tenant_id, offering_id, cohort_id) REFERENCES ${t('cohorts')} (tenant_id, offering_id, id)
       )`,
      `CREATE UNIQUE INDEX enrollments_one_per_offering ON ${t('enrollments')} (tenant_id, offering_id, learner_id) WHERE status <> 'DROPPED'`,
      `CREATE INDEX enrollments_cohort ON ${t('enrollments')} (tenant_id, cohort_id, seq)`,
      `CREATE INDEX enrollments_learner ON ${t('enrollments')} (tenant_id, learner_id, seq)`,
      `CREATE INDEX enrollments_waitlist ON ${t('enrollments')} (tenant_id, cohort_id, waitlist_seq) WHERE status = 'WAITLISTED'`,
      ...h.tenantTable('enrollments'),

      // Fed by learning's CourseCompleted: what prerequisites are checked against.
      `CREATE TABLE ${t('course_completions')} (
         tenant_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         course_id uuid NOT NULL,
         course_version_id uuid NOT NULL,
         enrollment_id uuid,
         completed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, learner_id, course_id)
       )`,
      ...h.tenantTable('course_completions'),

      `CREATE TABLE ${t('roster_imports')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         offering_id uuid NOT NULL,
         cohort_id uuid NOT NULL,
         status text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED')),
         total integer NOT NULL,
         processed integer NOT NULL DEFAULT 0,
         enrolled integer NOT NULL DEFAULT 0,
         already_enrolled integer NOT NULL DEFAULT 0,
         rejected integer NOT NULL DEFAULT 0,
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         finished_at timestamptz,
         CONSTRAINT roster_imports_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT roster_imports_cohort_fk FOREIGN KEY (tenant_id, offering_id, cohort_id) REFERENCES ${t('cohorts')} (tenant_id, offering_id, id)
       )`,
      ...h.tenantTable('roster_imports'),

      `CREATE TABLE ${t('roster_import_rows')} (
         tenant_id uuid NOT NULL,
         import_id uuid NOT NULL,
         row_number integer NOT NULL,
         identifier text NOT NULL,
         kind text NOT NULL CHECK (kind IN ('EMAIL', 'USER_ID')),
         status text NOT NULL CHECK (status IN ('PENDING', 'ENROLLED', 'WAITLISTED', 'ALREADY_ENROLLED', 'REJECTED')),
         reason text,
         enrollment_id uuid,
         PRIMARY KEY (tenant_id, import_id, row_number),
         CONSTRAINT roster_import_rows_import_fk FOREIGN KEY (tenant_id, import_id) REFERENCES ${t('roster_imports')} (tenant_id, id) ON DELETE CASCADE
       )`,
      `CREATE INDEX roster_import_rows_pending ON ${t('roster_import_rows')} (tenant_id, import_id, row_number) WHERE status = 'PENDING'`,
      `CREATE INDEX roster_import_rows_rejected ON ${t('roster_import_rows')} (tenant_id, import_id, row_number) WHERE status = 'REJECTED'`,
      ...h.tenantTable('roster_import_rows'),

      // Imports not finished yet, across organizations: the worker re-enqueues them at start
      // (it has no tenant then, and RLS hides every tenant row). Ids only; a row goes when
      // its import finishes.
      `CREATE TABLE ${t('unfinished_roster_imports')} (
         import_id uuid PRIMARY KEY,
         organization_id uuid NOT NULL,
         queued_at timestamptz NOT NULL DEFAULT now()
       )`,
    ];
  },
};
