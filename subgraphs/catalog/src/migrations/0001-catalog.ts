// Courses and their versioned content. Every table is a tenant table (RLS via h.tenantTable)
// and every key and foreign key carries tenant_id, so no row can point into another tenant.
//
// Versioning: courses.latest_version_id is what authors edit or last worked on (a DRAFT when
// one exists); courses.published_version_id is what learners see and what search joins at
// query time, so unpublishing (setting it NULL) hides a course from search in the same commit.
// Foreign keys are DEFERRABLE INITIALLY DEFERRED: courses and versions point at each other and
// the ORM does not promise an insert order for entities without declared relations.
import type { Migration } from '@lectern/kernel/db';

const DEFERRED = 'DEFERRABLE INITIALLY DEFERRED';

export const m0001: Migration = {
  id: '0001-catalog',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('courses')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         slug text NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$'),
         status text NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'UNPUBLISHED')),
         latest_version_id uuid NOT NULL,
         published_version_id uuid,
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT courses_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT courses_slug_uq UNIQUE (tenant_id, slug),
         CONSTRAINT courses_published_ck CHECK ((status = 'PUBLISHED') = (published_version_id IS NOT NULL))
       )`,
      `CREATE INDEX courses_list ON ${t('courses')} (tenant_id, created_at DESC, id DESC)`,
      ...h.tenantTable('courses'),

      `CREATE TABLE ${t('course_versions')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         number integer NOT NULL CHECK (number > 0),
         title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
         description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
         status text NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'SUPERSEDED', 'WITHDRAWN')),
         based_on_version_id uuid,
         published_at timestamptz,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         search_vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('english'::regconfig, title), 'A') ||
           setweight(to_tsvector('english'::regconfig, description), 'B')
         ) STORED,
         CONSTRAINT course_versions_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT course_versions_course_id_uq UNIQUE (tenant_id, course_id, id),
         CONSTRAINT course_versions_number_uq UNIQUE (tenant_id, course_id, number),
         CONSTRAINT course_versions_course_fk FOREIGN KEY (tenant_id, course_id) REFERENCES ${t('courses')} (tenant_id, id) ${DEFERRED},
         -- At most one draft and one published version per course (deferred: publishing swaps them in one flush).
         CONSTRAINT course_versions_one_draft EXCLUDE USING btree (tenant_id WITH =, course_id WITH =) WHERE (status = 'DRAFT') ${DEFERRED},
         CONSTRAINT course_versions_one_published EXCLUDE USING btree (tenant_id WITH =, course_id WITH =) WHERE (status = 'PUBLISHED') ${DEFERRED}
       )`,
      `CREATE INDEX course_versions_search ON ${t('course_versions')} USING gin (search_vector)`,
      ...h.tenantTable('course_versions'),
      `ALTER TABLE ${t('courses')}
         ADD CONSTRAINT courses_latest_version_fk FOREIGN KEY (tenant_id, id, latest_version_id)
           REFERENCES ${t('course_versions')} (tenant_id, course_id, id) ${DEFERRED},
         ADD CONSTRAINT courses_published_version_fk FOREIGN KEY (tenant_id, id, published_version_id)
           REFERENCES ${t('course_versions')} (tenant_id, course_id, id) ${DEFERRED}`,

      `CREATE TABLE ${t('modules')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         version_id uuid NOT NULL,
         -- Stable across versions: the draft's copy of a module keeps the lineage of its original.
         lineage_id uuid NOT NULL,
         position integer NOT NULL CHECK (position >= 0),
         title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT modules_version_id_uq UNIQUE (tenant_id, version_id, id),
         CONSTRAINT modules_lineage_uq UNIQUE (tenant_id, version_id, lineage_id),
         CONSTRAINT modules_position_uq UNIQUE (tenant_id, version_id, position) ${DEFERRED},
         CONSTRAINT modules_version_fk FOREIGN KEY (tenant_id, course_id, version_id)
           REFERENCES ${t('course_versions')} (tenant_id, course_id, id) ON DELETE CASCADE ${DEFERRED}
       )`,
      ...h.tenantTable('modules'),

      `CREATE TABLE ${t('lessons')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         version_id uuid NOT NULL,
         module_id uuid NOT NULL,
         lineage_id uuid NOT NULL,
         position integer NOT NULL CHECK (position >= 0),
         title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
         kind text NOT NULL CHECK (kind IN ('VIDEO', 'TEXT', 'QUIZ', 'EXTERNAL')),
         required boolean NOT NULL DEFAULT true,
         duration_seconds integer CHECK (duration_seconds BETWEEN 0 AND 86400),
         body text CHECK (length(body) <= 100000),
         video_asset_id uuid,
         quiz_id uuid,
         external_url text CHECK (external_url ~ '^https://' AND length(external_url) <= 2048),
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT lessons_lineage_uq UNIQUE (tenant_id, version_id, lineage_id),
         CONSTRAINT lessons_position_uq UNIQUE (tenant_id, module_id, position) ${DEFERRED},
         CONSTRAINT lessons_module_fk FOREIGN KEY (tenant_id, version_id, module_id)
           REFERENCES ${t('modules')} (tenant_id, version_id, id) ON DELETE CASCADE ${DEFERRED},
         CONSTRAINT lessons_version_fk FOREIGN KEY (tenant_id, course_id, version_id)
           REFERENCES ${t('course_versions')} (tenant_id, course_id, id) ON DELETE CASCADE ${DEFERRED},
         -- Exactly the content field of its kind is set.
         CONSTRAINT lessons_content_ck CHECK (
           (body IS NOT NULL) = (kind = 'TEXT') AND
           (video_asset_id IS NOT NULL) = (kind = 'VIDEO') AND
           (quiz_id IS NOT NULL) = (kind = 'QUIZ') AND
           (external_url IS NOT NULL) = (kind = 'EXTERNAL')
         )
       )`,
      `CREATE INDEX lessons_version ON ${t('lessons')} (tenant_id, version_id)`,
      ...h.tenantTable('lessons'),

      `CREATE TABLE ${t('course_authors')} (
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         user_id uuid NOT NULL,
         added_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, course_id, user_id),
         CONSTRAINT course_authors_course_fk FOREIGN KEY (tenant_id, course_id) REFERENCES ${t('courses')} (tenant_id, id) ${DEFERRED}
       )`,
      `CREATE INDEX course_authors_user ON ${t('course_authors')} (tenant_id, user_id)`,
      ...h.tenantTable('course_authors'),

      `CREATE TABLE ${t('course_prerequisites')} (
         tenant_id uuid NOT NULL,
         course_id uuid NOT NULL,
         prerequisite_course_id uuid NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, course_id, prerequisite_course_id),
         CONSTRAINT course_prerequisites_not_self CHECK (course_id <> prerequisite_course_id),
         CONSTRAINT course_prerequisites_course_fk FOREIGN KEY (tenant_id, course_id) REFERENCES ${t('courses')} (tenant_id, id) ${DEFERRED},
         CONSTRAINT course_prerequisites_prerequisite_fk FOREIGN KEY (tenant_id, prerequisite_course_id) REFERENCES ${t('courses')} (tenant_id, id) ${DEFERRED}
       )`,
      `CREATE INDEX course_prerequisites_reverse ON ${t('course_prerequisites')} (tenant_id, prerequisite_course_id)`,
      ...h.tenantTable('course_prerequisites'),
    ];
  },
};
