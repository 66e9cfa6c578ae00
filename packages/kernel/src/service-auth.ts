// Service credentials: how one Lectern process calls another's internal endpoint.
//
// User actors are signed by the gateway alone (actor.ts: ACTOR_SIGNING_KEY lives only there).
// A process calling an internal endpoint (enrollment asking catalog for a course's structure,
// the notifications worker asking identity for an email address, the gateway asking identity
// to verify an API key) proves who it is with its own credential instead:
//
//   caller  SERVICE_SIGNING_KEY   its own Ed25519 private JWK; it signs, per call target, a
//                                 60-second token { iss: <caller>, aud: <callee>, tid } sent in
//                                 the `x-lectern-service` header.
//   callee  SERVICE_VERIFY_KEYS   JSON object: caller name → public JWK. An internal route
//                                 names which callers it serves; the token must be signed by
//                                 that caller's key, addressed to this service, and fresh.
//
// A service token is never an actor: subgraphs' GraphQL endpoints read only the gateway's
// `x-lectern-actor`, so a service credential opens no public graph, and one service cannot
// act as another (its key signs only its own name). Outside production every service has a
// development key derived from its name, so `pnpm dev` needs no setup; production refuses
// to start without real keys.
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { z } from 'zod';

export const SERVICE_HEADER = 'x-lectern-service';
export const SERVICE_TOKEN_TTL_SECONDS = 60;
export const SERVICE_NAMES = ['gateway', 'identity', 'catalog', 'enrollment', 'learning', 'notifications', 'live', 'assessment', 'media', 'certification'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const TYP = 'lectern-service+jwt';
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The development key of `service` (a private JWK), derived from its name: never valid in production. */
export function devServiceKey(service: ServiceName): string {
  const seed = createHash('sha256').update(`lectern development service key: ${service}`).digest();
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return JSON.stringify(key.export({ format: 'jwk' }));
}

/** Public JWK of a private one. */
export const publicJwk = (privateJwk: string): string => {
  const { d: _d, ...pub } = JSON.parse(privateJwk) as Record<string, unknown>;
  return JSON.stringify(pub);
};

/** This process's credential: SERVICE_SIGNING_KEY, or its development key outside production. */
export function serviceCredential(service: ServiceName, env: { SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): ServiceCredential {
  if (!env.SERVICE_SIGNING_KEY && env.NODE_ENV === 'production') {
    throw new Error(`SERVICE_SIGNING_KEY must be set in production (the ${service} service's Ed25519 private JWK)`);
  }
  const jwk = JSON.parse(env.SERVICE_SIGNING_KEY || devServiceKey(service)) as Record<string, unknown>;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') throw new Error('SERVICE_SIGNING_KEY must be an Ed25519 private JWK');
  return new ServiceCredential(service, createPrivateKey({ key: jwk as never, format: 'jwk' }));
}

/** Signs this service's tokens; one token per (callee, tenant) is reused for half its lifetime. */
export class ServiceCredential {
  readonly service: ServiceName;
  #key: KeyObject;
  #issued = new Map<string, { token: string; iat: number }>();
  constructor(service: ServiceName, key: KeyObject) {
    this.service = service;
    this.#key = key;
  }

  /** A token addressed to `audience`, acting within `tenantId` (null: not one organization's). */
  token(audience: ServiceName, tenantId: string | null): string {
    const cacheKey = `${audience}|${tenantId ?? ''}`;
    const now = Math.floor(Date.now() / 1000);
    const hit = this.#issued.get(cacheKey);
    if (hit && now - hit.iat < SERVICE_TOKEN_TTL_SECONDS / 2 && hit.iat <= now) return hit.token;
    const input = `${b64({ alg: 'EdDSA', typ: TYP, kid: this.service })}.${b64({
      iss: this.service,
      aud: audience,
      tid: tenantId,
      iat: now,
      exp: now + SERVICE_TOKEN_TTL_SECONDS,
    })}`;
    const token = `${input}.${cryptoSign(null, Buffer.from(input), this.#key).toString('base64url')}`;
    if (this.#issued.size > 1000) this.#issued.clear();
    this.#issued.set(cacheKey, { token, iat: now });
    return token;
  }
}

/** Who called an internal endpoint. */
export interface ServiceCaller {
  service: ServiceName;
  tenantId: string | null;
}

const claimsSchema = z.object({
  iss: z.enum(SERVICE_NAMES),
  aud: z.enum(SERVICE_NAMES),
  tid: z.string().uuid().nullable(),
  iat: z.number(),
  exp: z.number(),
});

/** Verifies tokens addressed to `self` by the callers whose public keys it was given. */
export class ServiceVerifier {
  readonly self: string;
  #keys: Map<ServiceName, KeyObject>;
  constructor(self: string, keys: Map<ServiceName, KeyObject>) {
    this.self = self;
    this.#keys = keys;
  }

  /** The caller, or null for a missing, forged, expired, misaddressed or unknown caller's token. */
  verify(token: string | undefined | null): ServiceCaller | null {
    if (!token || token.length > 4096) return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [header, payload, signature] = parts as [string, string, string];
    try {
      const h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
      if (h.alg !== 'EdDSA' || h.typ !== TYP || Object.keys(h).length !== 3) return null;
      const key = this.#keys.get(h.kid as ServiceName);
      if (!key) return null;
      if (!cryptoVerify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) return null;
      const claims = claimsSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      if (!claims.success) return null;
      const c = claims.data;
      const now = Math.floor(Date.now() / 1000);
      if (c.iss !== h.kid || c.aud !== this.self) return null;
      if (c.exp <= now || c.iat > now + 5 || now - c.iat > SERVICE_TOKEN_TTL_SECONDS + 5) return null;
      return { service: c.iss, tenantId: c.tid };
    } catch {
      return null;
    }
  }
}

const verifyKeysSchema = z.partialRecord(z.enum(SERVICE_NAMES), z.string());

/**
 * The verifier of `self`: SERVICE_VERIFY_KEYS (caller name → public JWK, as JSON), or every
 * service's development key outside production.
 */
export function serviceVerifier(self: string, env: { SERVICE_VERIFY_KEYS?: string | undefined; NODE_ENV: string }): ServiceVerifier {
  let entries: [ServiceName, string][];
  if (env.SERVICE_VERIFY_KEYS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.SERVICE_VERIFY_KEYS);
    } catch {
      throw new Error('SERVICE_VERIFY_KEYS must be a JSON object: caller name → Ed25519 public JWK');
    }
    const keys = verifyKeysSchema.safeParse(
      Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    );
    if (!keys.success) throw new Error(`SERVICE_VERIFY_KEYS: ${keys.error.issues[0]?.message ?? 'invalid'} (names: ${SERVICE_NAMES.join(', ')})`);
    entries = Object.entries(keys.data) as [ServiceName, string][];
  } else if (env.NODE_ENV === 'production') {
    throw new Error('SERVICE_VERIFY_KEYS must be set in production (caller name → Ed25519 public JWK, as JSON)');
  } else {
    entries = SERVICE_NAMES.map((name) => [name, publicJwk(devServiceKey(name))]);
  }
  const keys = new Map<ServiceName, KeyObject>();
  for (const [name, jwk] of entries) keys.set(name, createPublicKey({ key: JSON.parse(publicJwk(jwk)) as never, format: 'jwk' }));
  return new ServiceVerifier(self, keys);
}
