import { SignJWT, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, type AccessTokenClaims } from '@lectern/contracts/identity';

/** An Ed25519 public JWK as the JWKS publishes it: `kid` is its RFC 7638 thumbprint. */
async function publishable(jwk: JWK): Promise<JWK> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('identity signing keys must be Ed25519 JWKs (kty OKP, crv Ed25519)');
  const pub = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  return { ...pub, kid: await calculateJwkThumbprint(pub), alg: 'EdDSA', use: 'sig' };
}

/**
 * Signs short-lived access tokens (EdDSA) and publishes the JWKS verifiers fetch. Rotation
 * without downtime: publish the next key first (IDENTITY_JWT_PUBLISHED_KEYS) and wait past the
 * verifiers' JWKS cache; then sign with it (IDENTITY_JWT_PRIVATE_KEY) and keep publishing the
 * previous one until its last tokens have expired (ACCESS_TOKEN_TTL_SECONDS).
 */
export class TokenIssuer {
  #key: Awaited<ReturnType<typeof importJWK>>;
  #kid: string;
  #published: JWK[];
  readonly ttlSeconds: number;

  private constructor(key: Awaited<ReturnType<typeof importJWK>>, kid: string, published: JWK[], ttlSeconds: number) {
    this.#key = key;
    this.#kid = kid;
    this.#published = published;
    this.ttlSeconds = ttlSeconds;
  }

  /**
   * `privateJwkJson` signs; `publishedKeysJson` (a JSON array of public JWKs: the next key, the
   * previous one) is published besides it. Private parts of published keys are never published.
   */
  static async create(privateJwkJson: string, ttlSeconds: number, publishedKeysJson?: string): Promise<TokenIssuer> {
    const jwk = JSON.parse(privateJwkJson) as JWK;
    const key = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
    const signing = await publishable(jwk);
    const extra = publishedKeysJson ? (JSON.parse(publishedKeysJson) as unknown) : [];
    if (!Array.isArray(extra)) throw new Error('IDENTITY_JWT_PUBLISHED_KEYS must be a JSON array of public JWKs');
    const published = [signing];
    for (const k of extra as JWK[]) {
      const pub = await publishable(k);
      if (!published.some((p) => p.kid === pub.kid)) published.push(pub);
    }
    return new TokenIssuer(key, signing.kid!, published, ttlSeconds);
  }

  /** The kid tokens are signed with now. */
  get kid(): string {
    return this.#kid;
  }

  async issue(claims: AccessTokenClaims): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + this.ttlSeconds * 1000);
    const token = await new SignJWT({ tid: claims.tid, roles: claims.roles, sa: claims.sa, sid: claims.sid })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.#kid, typ: 'at+jwt' })
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .setJti(crypto.randomUUID())
      .sign(this.#key);
    return { token, expiresAt };
  }

  /** The signing key first, then the other published keys. */
  jwks() {
    return { keys: this.#published };
  }
}
