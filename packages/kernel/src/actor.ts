// The actor context of DESIGN rule 3: the gateway verifies the caller once and forwards
// who they are as a short-lived Ed25519-signed token in one header. Subgraphs trust
// nothing else: no valid context, no answer (including _service and _entities).
import { SignJWT, importJWK, jwtVerify, type CryptoKey, type KeyObject } from 'jose';
import { z } from 'zod';

export const ACTOR_HEADER = 'x-lectern-actor';
const ISSUER = 'lectern-gateway';
const AUDIENCE = 'lectern-subgraph';
export const ACTOR_TTL_SECONDS = 60;

export const ROLES = ['ORG_ADMIN', 'INSTRUCTOR', 'LEARNER', 'SUPPORT_READONLY'] as const;
export type Role = (typeof ROLES)[number];

export const actorSchema = z.object({
  kind: z.enum(['user', 'api_key', 'anonymous', 'service']),
  userId: z.string().uuid().nullable(),
  tenantId: z.string().uuid().nullable(),
  roles: z.array(z.enum(ROLES)),
  superAdmin: z.boolean(),
  /** API-key scopes; empty for users (their roles decide). */
  scopes: z.array(z.string()),
  apiKeyId: z.string().uuid().nullable(),
  ip: z.string().nullable(),
  requestId: z.string().max(128).nullable(),
});
export type Actor = z.infer<typeof actorSchema>;

export const anonymousActor = (ip: string | null = null, requestId: string | null = null): Actor => ({
  kind: 'anonymous',
  userId: null,
  tenantId: null,
  roles: [],
  superAdmin: false,
  scopes: [],
  apiKeyId: null,
  ip,
  requestId,
});

type Key = CryptoKey | KeyObject | Uint8Array;

export async function importEd25519(jwkJson: string, use: 'sign' | 'verify'): Promise<Key> {
  const jwk = JSON.parse(jwkJson) as Record<string, unknown>;
  if (use === 'verify') delete jwk.d;
  return importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
}

export class ActorSigner {
  #key: Key;
  constructor(key: Key) {
    this.#key = key;
  }
  static async fromJwk(jwkJson: string) {
    return new ActorSigner(await importEd25519(jwkJson, 'sign'));
  }
  sign(actor: Actor): Promise<string> {
    return new SignJWT({ act: actor })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'lectern-actor+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ACTOR_TTL_SECONDS}s`)
      .sign(this.#key);
  }
}

export class ActorVerifier {
  #key: Key;
  constructor(key: Key) {
    this.#key = key;
  }
  static async fromJwk(jwkJson: string) {
    return new ActorVerifier(await importEd25519(jwkJson, 'verify'));
  }
  /** The actor, or null for a missing, forged, expired or malformed context. */
  async verify(token: string | undefined | null): Promise<Actor | null> {
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['EdDSA'],
        typ: 'lectern-actor+jwt',
        maxTokenAge: `${ACTOR_TTL_SECONDS + 5}s`,
      });
      const parsed = actorSchema.safeParse(payload.act);
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }
}

export const hasRole = (actor: Actor, ...roles: Role[]) => actor.superAdmin || actor.roles.some((r) => roles.includes(r));
