// The audit trail of changeOfferingVersion: who moved an offering from which course version to
// which, when and why. Append-only; RLS like every tenant table.
import type { Migration } from '@lectern/kernel/db';

export const m0004: Migration = {
  id: '0004-offering-version-changes',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('offering_version_changes')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         offering_id uuid NOT NULL,
         from_version_id uuid NOT NULL,
         to_version_id uuid NOT NULL,
         reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
         changed_by uuid,
         changed_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT offering_version_changes_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT offering_version_changes_distinct_ck CHECK (from_version_id <> to_version_id),
         CONSTRAINT offering_version_changes_offering_fk FOREIGN KEY (tenant_id, offering_id) REFERENCES ${t('offerings')} (tenant_id, id)
       )`,
      `CREATE INDEX offering_version_changes_offering ON ${t('offering_version_changes')} (tenant_id, offering_id, seq)`,
      ...h.tenantTable('offering_version_changes'),
    ];
  },
};
