import { SignJWT, calculateJwkThumbprint, exportJWK, importJWK, type JWK } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, type AccessTokenClaims } from '@lectern/contracts/identity';

/** Signs short-lived access tokens (EdDSA) and publishes the matching JWKS. */
export class TokenIssuer {
  #key: Awaited<ReturnType<typeof importJWK>>;
  #kid: string;
  #publicJwk: JWK;
  readonly ttlSeconds: number;

  private constructor(key: Awaited<ReturnType<typeof importJWK>>, kid: string, publicJwk: JWK, ttlSeconds: number) {
    this.#key = key;
    this.#kid = kid;
    this.#publicJwk = publicJwk;
    this.ttlSeconds = ttlSeconds;
  }

  static async create(privateJwkJson: string, ttlSeconds: number): Promise<TokenIssuer> {
    const jwk = JSON.parse(privateJwkJson) as JWK;
    const key = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
    const { d: _d, ...pub } = jwk;
    const kid = await calculateJwkThumbprint(pub);
    const publicJwk = await exportJWK(await importJWK({ ...pub, alg: 'EdDSA' }, 'EdDSA'));
    return new TokenIssuer(key, kid, { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }, ttlSeconds);
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

  jwks() {
    return { keys: [this.#publicJwk] };
  }
}
