import type { Migration } from '@lectern/kernel/db';

/**
 * An organization may require trusted documents: its people's access tokens may then send only
 * the operations registered in the gateway's manifest (its own apps'), while its API keys still
 * send any document within their cost limits. The gateway asks identity (GATEWAY_POLICY_PATH).
 */
export const m0004: Migration = {
  id: '0004-gateway-policy',
  up: () => [`ALTER TABLE organizations ADD COLUMN require_trusted_documents boolean NOT NULL DEFAULT false`],
};
