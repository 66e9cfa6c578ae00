// identity's published contract: the access-token format the gateway verifies, the events it
// emits through its outbox and the internal endpoints other contexts call. Nothing else of
// identity is importable.
import { z } from 'zod';
import { ROLES } from '@lectern/kernel/actor';
import { defineEvent } from '@lectern/kernel/events';

export const ACCESS_TOKEN_ISSUER = 'lectern-identity';
export const ACCESS_TOKEN_AUDIENCE = 'lectern';
export const JWKS_PATH = '/.well-known/jwks.json';
export const API_KEY_VERIFY_PATH = '/internal/api-keys/verify';
export const API_KEY_PREFIX = 'lk';

export const accessTokenClaims = z.object({
  sub: z.string().uuid(),
  tid: z.string().uuid(),
  roles: z.array(z.enum(ROLES)),
  sa: z.boolean(),
  sid: z.string().uuid(),
});
export type AccessTokenClaims = z.infer<typeof accessTokenClaims>;

export const apiKeyVerification = z.discriminatedUnion('valid', [
  z.object({ valid: z.literal(true), tenantId: z.string().uuid(), apiKeyId: z.string().uuid(), scopes: z.array(z.string()) }),
  z.object({ valid: z.literal(false) }),
]);
export type ApiKeyVerification = z.infer<typeof apiKeyVerification>;

/** Scopes as the GraphQL enum names them and as actors carry them. */
export const API_KEY_SCOPES = {
  CATALOG_READ: 'catalog:read',
  CATALOG_WRITE: 'catalog:write',
  MEMBERS_READ: 'members:read',
  ENROLLMENT_READ: 'enrollment:read',
  ENROLLMENT_WRITE: 'enrollment:write',
  LEARNING_READ: 'learning:read',
  LEARNING_WRITE: 'learning:write',
  LEARNING_ADMIN: 'learning:admin',
  NOTIFICATIONS_READ: 'notifications:read',
  NOTIFICATIONS_WRITE: 'notifications:write',
  LIVE_READ: 'live:read',
  LIVE_WRITE: 'live:write',
  ASSESSMENT_READ: 'assessment:read',
  ASSESSMENT_WRITE: 'assessment:write',
  MEDIA_READ: 'media:read',
  MEDIA_WRITE: 'media:write',
  CERTIFICATION_READ: 'certification:read',
  CERTIFICATION_WRITE: 'certification:write',
} as const;
/** A scope as actors carry it (`enrollment:read`, ...). */
export type ApiKeyScopeValue = (typeof API_KEY_SCOPES)[keyof typeof API_KEY_SCOPES];

// ---- Events (through identity's outbox; ids only, never emails or names) ----

/** Someone was invited into an organization; their membership is INVITED until they accept. */
export const MemberInvited = defineEvent({
  type: 'identity.MemberInvited',
  version: 1,
  aggregate: 'membership',
  payload: z.strictObject({
    membershipId: z.string().uuid(),
    userId: z.string().uuid(),
    invitationId: z.string().uuid(),
    roles: z.array(z.enum(ROLES)),
    invitedBy: z.string().uuid().nullable(),
  }),
});

/** Someone became an active member (added directly, or accepted an invitation). */
export const MemberAdded = defineEvent({
  type: 'identity.MemberAdded',
  version: 1,
  aggregate: 'membership',
  payload: z.strictObject({
    membershipId: z.string().uuid(),
    userId: z.string().uuid(),
    roles: z.array(z.enum(ROLES)),
    via: z.enum(['ADDED', 'INVITATION']),
  }),
});

export const IDENTITY_EVENTS = [MemberInvited, MemberAdded] as const;

// ---- Internal endpoints for other contexts' workers (signed `service` actor only) ----

/** Contact details of members of one organization, fetched at send time, never stored elsewhere. */
export const CONTACTS_PATH = '/internal/users/contacts';
export const contactsRequest = z.object({ tenantId: z.string().uuid(), userIds: z.array(z.string().uuid()).max(1000) });
export const contactsResponse = z.object({
  contacts: z.array(
    z.object({
      userId: z.string().uuid(),
      email: z.string(),
      displayName: z.string(),
      /** IANA time zone (e.g. Europe/Paris; 'UTC' unless the user chose one): digests are sent by it. */
      timeZone: z.string(),
      /** BCP 47 language tag the user chose (e.g. en-GB); null when they chose none. */
      locale: z.string().nullable(),
    }),
  ),
});

/** An organization's name and slug (certification names the issuer of its credentials). */
export const ORGANIZATION_PROFILE_PATH = '/internal/organizations/profile';
export const organizationProfileRequest = z.object({ tenantId: z.string().uuid() });
export const organizationProfileResponse = z.object({ organization: z.object({ id: z.string().uuid(), name: z.string(), slug: z.string() }) });

/** What the gateway enforces for one organization's requests (cached there for ORGANIZATION_POLICY_SECONDS). Gateway only. */
export const GATEWAY_POLICY_PATH = '/internal/organizations/gateway-policy';
export const gatewayPolicyRequest = z.object({ tenantId: z.string().uuid() });
export const gatewayPolicyResponse = z.object({ requireTrustedDocuments: z.boolean() });

/** Active members of one organization (ids and roles) and its display name. */
export const MEMBERS_PATH = '/internal/organizations/members';
export const membersRequest = z.object({ tenantId: z.string().uuid() });
export const membersResponse = z.object({
  organization: z.object({ id: z.string().uuid(), name: z.string(), slug: z.string() }),
  members: z.array(z.object({ userId: z.string().uuid(), roles: z.array(z.enum(ROLES)) })),
});

/**
 * Which of these sessions have ended (logged out, revoked after refresh-token reuse, expired) or
 * were never issued: the gateway refuses access tokens whose `sid` claim is among them (it may
 * cache the answer briefly). A session id is the access token's `sid` (one sign-in and its
 * refreshes). Gateway only.
 */
export const SESSION_STATUS_PATH = '/internal/sessions/status';
export const sessionStatusRequest = z.object({ sessionIds: z.array(z.string().uuid()).max(100) });
export const sessionStatusResponse = z.object({ revoked: z.array(z.string().uuid()) });

/**
 * A token for the invitation email: the only way the invitation's secret leaves identity (no API
 * response carries it). Each call mints a new one (only its hash is kept) and invalidates the
 * previous emailed token.
 */
export const INVITATION_DELIVERY_PATH = '/internal/invitations/delivery';
export const invitationDeliveryRequest = z.object({ tenantId: z.string().uuid(), invitationId: z.string().uuid() });
export const invitationDeliveryResponse = z.object({
  token: z.string(),
  email: z.string(),
  displayName: z.string(),
  organizationName: z.string(),
  expiresAt: z.string(),
});

/**
 * Active members of one organization among the given emails (case-insensitive) and user ids,
 * with their roles: enrollment checks who may be enrolled (roster imports name people by email).
 * People who are not active members are left out of the answer.
 */
export const RESOLVE_MEMBERS_PATH = '/internal/organizations/members/resolve';
export const resolveMembersRequest = z.object({
  tenantId: z.string().uuid(),
  emails: z.array(z.string().max(320)).max(1000).default([]),
  userIds: z.array(z.string().uuid()).max(1000).default([]),
});
export const resolveMembersResponse = z.object({
  members: z.array(z.object({ userId: z.string().uuid(), email: z.string(), roles: z.array(z.enum(ROLES)) })),
});
