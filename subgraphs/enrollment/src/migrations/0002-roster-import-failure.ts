// Why a roster import stopped: set when its job fails for good (FAILED), cleared when it resumes.
import type { Migration } from '@lectern/kernel/db';

export const m0002: Migration = {
  id: '0002-roster-import-failure',
  up: (h) => [`ALTER TABLE ${h.schema}.roster_imports ADD COLUMN failure text`],
};
