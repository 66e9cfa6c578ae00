// What notifications asks identity, through its internal endpoints as a signed `service`
// actor: an organization's active members, contact details at send time (never stored here),
// and a fresh token for an invitation email.
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient, ServiceCallError } from '@lectern/kernel/service-client';
import {
  CONTACTS_PATH,
  contactsResponse,
  INVITATION_DELIVERY_PATH,
  invitationDeliveryResponse,
  MEMBERS_PATH,
  membersResponse,
} from '@lectern/contracts/identity';
import type { z } from 'zod';

export type Contact = z.infer<typeof contactsResponse>['contacts'][number];
export type Members = z.infer<typeof membersResponse>;
export type InvitationDelivery = z.infer<typeof invitationDeliveryResponse>;

export interface Directory {
  members(tenantId: string): Promise<Members>;
  /** Contacts of those of `userIds` who are members of the organization, by user id. */
  contacts(tenantId: string, userIds: readonly string[]): Promise<Map<string, Contact>>;
  /** A token for the invitation email; null when the invitation is no longer pending. */
  invitationDelivery(tenantId: string, invitationId: string): Promise<InvitationDelivery | null>;
}

const CONTACTS_BATCH = 1000;

export function identityDirectory(env: { IDENTITY_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): Directory {
  // Calls as the `notifications` service (its own credential; production refuses to start without one).
  const call = serviceClient({ baseUrl: env.IDENTITY_URL, audience: 'identity', credential: serviceCredential('notifications', env) });
  return {
    members: (tenantId) => call(MEMBERS_PATH, { tenantId }, membersResponse, tenantId),
    async contacts(tenantId, userIds) {
      const unique = [...new Set(userIds)];
      const found = new Map<string, Contact>();
      for (let i = 0; i < unique.length; i += CONTACTS_BATCH) {
        const { contacts } = await call(CONTACTS_PATH, { tenantId, userIds: unique.slice(i, i + CONTACTS_BATCH) }, contactsResponse, tenantId);
        for (const c of contacts) found.set(c.userId, c);
      }
      return found;
    },
    async invitationDelivery(tenantId, invitationId) {
      try {
        return await call(INVITATION_DELIVERY_PATH, { tenantId, invitationId }, invitationDeliveryResponse, tenantId);
      } catch (err) {
        if (err instanceof ServiceCallError && err.status === 404) return null;
        throw err;
      }
    },
  };
}
