// Who is calling: a verified identity access token (EdDSA, from identity's JWKS), an API
// key (checked by identity, cached briefly), or nobody. Anything else is UNAUTHENTICATED.
import { createHash, KeyObject, verify as cryptoVerify } from 'node:crypto';
import { createRemoteJWKSet } from 'jose';
import { anonymousActor, type Actor, type ActorSigner } from '@lectern/kernel/actor';
import { HttpError } from '@lectern/kernel/http';
import {
  ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, API_KEY_PREFIX, API_KEY_VERIFY_PATH, JWKS_PATH,
  accessTokenClaims, apiKeyVerification, type ApiKeyVerification,
} from '@lectern/contracts/identity';

const CLOCK_TOLERANCE = 5;

export interface AuthenticatorOptions {
  identityUrl: string;
  signer: ActorSigner;
  apiKeyCacheSeconds: number;
}

export class Authenticator {
  #jwks: ReturnType<typeof createRemoteJWKSet>;
  #identityOrigin: string;
  #signer: ActorSigner;
  #cache = new Map<string, { at: number; result: ApiKeyVerification }>();
  #verified = new Map<string, { actor: Actor; until: number }>();
  #keys = new WeakMap<CryptoKey, KeyObject>();
  #cacheMs: number;

  constructor(opts: AuthenticatorOptions) {
    this.#identityOrigin = new URL(opts.identityUrl).origin;
    this.#jwks = createRemoteJWKSet(new URL(JWKS_PATH, this.#identityOrigin), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    this.#signer = opts.signer;
    this.#cacheMs = opts.apiKeyCacheSeconds * 1000;
  }

  /** The caller of this request. Throws 401 for a credential that is present but not valid. */
  async actorFor(authorization: string | undefined, ip: string | null, requestId: string): Promise<Actor> {
    if (!authorization) return anonymousActor(ip, requestId);
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m) throw new HttpError(401, 'UNAUTHENTICATED', 'Authorization must be "Bearer <access token or API key>"');
    const credential = m[1]!;
    if (credential.startsWith(`${API_KEY_PREFIX}_`)) return this.#apiKeyActor(credential, ip, requestId);
    // A verified token answers again from memory until it expires (at most a minute, so a
    // key removed from identity's JWKS stops being honoured soon): players send one every
    // 30 s, and each verification is a quarter of a millisecond of CPU.
    const cached = this.#verified.get(credential);
    if (cached && cached.until > Date.now()) return { ...cached.actor, ip, requestId };
    try {
      const payload = await this.#verifyAccessToken(credential);
      const claims = accessTokenClaims.parse(payload);
      const actor: Actor = {
        kind: 'user',
        userId: claims.sub,
        tenantId: claims.tid,
        roles: claims.roles,
        superAdmin: claims.sa,
        scopes: [],
        apiKeyId: null,
        ip,
        requestId,
      };
      if (this.#verified.size >= 50_000) this.#verified.clear();
      this.#verified.set(credential, { actor, until: Math.min((payload.exp as number) * 1000, Date.now() + 60_000) });
      return actor;
    } catch {
      throw new HttpError(401, 'UNAUTHENTICATED', 'Access token is invalid or expired');
    }
  }

  /**
   * A compact JWS from identity: EdDSA with a key of identity's JWKS (fetched and refreshed
   * by jose), the `at+jwt` type, our issuer and audience, not expired (5 s tolerance). The
   * signature is checked with node:crypto's synchronous Ed25519, a fraction of WebCrypto's
   * cost, since each new token costs one.
   */
  async #verifyAccessToken(token: string): Promise<Record<string, unknown>> {
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 8192) throw new Error('not a compact JWS');
    const [h64, p64, s64] = parts as [string, string, string];
    const header = JSON.parse(Buffer.from(h64, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== 'EdDSA' || header.typ !== 'at+jwt' || 'crit' in header || (header.kid !== undefined && typeof header.kid !== 'string')) throw new Error('unexpected header');
    const cryptoKey = await this.#jwks({ alg: 'EdDSA', ...(header.kid ? { kid: header.kid as string } : {}) });
    let key = this.#keys.get(cryptoKey);
    if (!key) {
      key = KeyObject.from(cryptoKey);
      this.#keys.set(cryptoKey, key);
    }
    if (!cryptoVerify(null, Buffer.from(`${h64}.${p64}`), key, Buffer.from(s64, 'base64url'))) throw new Error('bad signature');
    const payload = JSON.parse(Buffer.from(p64, 'base64url').toString('utf8')) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const aud = payload.aud;
    if (payload.iss !== ACCESS_TOKEN_ISSUER) throw new Error('issuer');
    if (!(aud === ACCESS_TOKEN_AUDIENCE || (Array.isArray(aud) && aud.includes(ACCESS_TOKEN_AUDIENCE)))) throw new Error('audience');
    if (typeof payload.exp !== 'number' || payload.exp <= now - CLOCK_TOLERANCE) throw new Error('expired');
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + CLOCK_TOLERANCE)) throw new Error('not yet valid');
    if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > now + CLOCK_TOLERANCE)) throw new Error('issued in the future');
    return payload;
  }

  async #apiKeyActor(key: string, ip: string | null, requestId: string): Promise<Actor> {
    const id = createHash('sha256').update(key).digest('hex');
    let hit = this.#cache.get(id);
    if (!hit || Date.now() - hit.at > this.#cacheMs) {
      hit = { at: Date.now(), result: await this.#verifyApiKey(key, requestId) };
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(id, hit);
    }
    const r = hit.result;
    if (!r.valid) throw new HttpError(401, 'UNAUTHENTICATED', 'API key is invalid, expired or revoked');
    return { kind: 'api_key', userId: null, tenantId: r.tenantId, roles: [], superAdmin: false, scopes: r.scopes, apiKeyId: r.apiKeyId, ip, requestId };
  }

  async #verifyApiKey(key: string, requestId: string): Promise<ApiKeyVerification> {
    const service: Actor = { ...anonymousActor(null, requestId), kind: 'service' };
    const res = await fetch(new URL(API_KEY_VERIFY_PATH, this.#identityOrigin), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-lectern-actor': await this.#signer.sign(service) },
      body: JSON.stringify({ key }),
      signal: AbortSignal.timeout(3000),
    }).catch(() => null);
    if (!res?.ok) throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Cannot verify the API key right now; try again shortly');
    return apiKeyVerification.parse(await res.json());
  }

  /** Readiness: identity's signing keys can be fetched. */
  async checkJwks(): Promise<void> {
    const res = await fetch(new URL(JWKS_PATH, this.#identityOrigin), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`identity JWKS answered ${res.status}`);
  }
}
