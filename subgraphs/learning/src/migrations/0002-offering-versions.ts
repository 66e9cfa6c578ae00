// The course version each offering runs, as enrollment's OfferingVersionChanged events move
// it (projection). An enrollment projected late (its LearnerEnrolled handled after its
// offering moved on) takes the offering's version from here, and a later change moves it
// again; enrollments_offering finds an offering's enrollments when its version changes.
import type { Migration } from '@lectern/kernel/db';

export const m0002: Migration = {
  id: '0002-offering-versions',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('offering_versions')} (
         tenant_id uuid NOT NULL,
         offering_id uuid NOT NULL,
         course_version_id uuid NOT NULL,
         changed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, offering_id),
         FOREIGN KEY (tenant_id, course_version_id) REFERENCES ${t('course_versions')} (tenant_id, id)
       )`,
      ...h.tenantTable('offering_versions'),
      `CREATE INDEX enrollments_offering ON ${t('enrollments')} (tenant_id, offering_id)`,
    ];
  },
};
