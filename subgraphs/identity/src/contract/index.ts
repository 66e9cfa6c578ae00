// What other Lectern code may know of identity: the access-token format the gateway
// verifies and the internal endpoints it calls. Nothing else of identity is importable.
import { z } from 'zod';
import { ROLES } from '@lectern/kernel/actor';

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
export const API_KEY_SCOPES = { CATALOG_READ: 'catalog:read', CATALOG_WRITE: 'catalog:write', MEMBERS_READ: 'members:read' } as const;
