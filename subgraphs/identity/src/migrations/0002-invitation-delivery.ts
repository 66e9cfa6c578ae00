import type { Migration } from '@lectern/kernel/db';

/** The emailed invitation link has its own token, so re-sending it never breaks the admin's copy. */
export const m0002: Migration = {
  id: '0002-invitation-delivery',
  up: () => [`ALTER TABLE invitations ADD COLUMN delivery_token_hash text`],
};
