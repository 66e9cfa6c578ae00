// Who is calling: a verified identity access token (EdDSA, from identity's JWKS) of a
// session that is not signed out, an API key (checked by identity, cached briefly), or
// nobody. Anything else is UNAUTHENTICATED.
//
// Keys: jose fetches identity's JWKS and refetches it when a token names a key it does not
// hold (at most every 30 s), so identity can publish its next key, then sign with it,
// without a gateway restart. Sessions: whether a token's `sid` was signed out is asked of
// identity (SESSION_STATUS_PATH, batched per tick) and remembered for SESSION_CHECK_SECONDS;
// if identity cannot answer, the last answer stands, and a session never checked is
// SERVICE_UNAVAILABLE rather than let through.
import { createHash, KeyObject, verify as cryptoVerify } from 'node:crypto';
import { createRemoteJWKSet } from 'jose';
import { anonymousActor, type Actor } from '@lectern/kernel/actor';
import { HttpError } from '@lectern/kernel/http';
import { DataLoader } from '@lectern/kernel/loaders';
import type { ServiceCredential } from '@lectern/kernel/service-auth';
import { serviceClient, type ServiceClient } from '@lectern/kernel/service-client';
import {
  ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, API_KEY_PREFIX, API_KEY_VERIFY_PATH, JWKS_PATH, SESSION_STATUS_PATH,
  accessTokenClaims, apiKeyVerification, sessionStatusResponse, type ApiKeyVerification,
} from '@lectern/contracts/identity';
import { z } from 'zod';

const CLOCK_TOLERANCE = 5;

export interface AuthenticatorOptions {
  identityUrl: string;
  /** The gateway's own service credential (internal endpoints of identity). */
  credential: ServiceCredential;
  apiKeyCacheSeconds: number;
  /** How long a session's "not signed out" answer is trusted. */
  sessionCheckSeconds: number;
}

export class Authenticator {
  #jwks: ReturnType<typeof createRemoteJWKSet>;
  #identityOrigin: string;
  #identity: ServiceClient;
  #cache = new Map<string, { at: number; result: ApiKeyVerification }>();
  #verified = new Map<string, { actor: Actor; sid: string; until: number; expiresAt: number }>();
  #sessions = new Map<string, { revoked: boolean; at: number }>();
  #sessionLoader: DataLoader<string, boolean>;
  #keys = new WeakMap<CryptoKey, KeyObject>();
  #cacheMs: number;
  #sessionMs: number;

  constructor(opts: AuthenticatorOptions) {
    this.#identityOrigin = new URL(opts.identityUrl).origin;
    this.#jwks = createRemoteJWKSet(new URL(JWKS_PATH, this.#identityOrigin), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    this.#identity = serviceClient({ baseUrl: opts.identityUrl, audience: 'identity', credential: opts.credential, timeoutMs: 3000 });
    this.#cacheMs = opts.apiKeyCacheSeconds * 1000;
    this.#sessionMs = opts.sessionCheckSeconds * 1000;
    this.#sessionLoader = new DataLoader(
      async (sids) => {
        const { revoked } = await this.#identity(SESSION_STATUS_PATH, { sessionIds: [...sids] }, sessionStatusResponse, null);
        const gone = new Set(revoked);
        return sids.map((sid) => gone.has(sid));
      },
      { cache: false, maxBatchSize: 100 },
    );
  }

  /**
   * Whether the session of an access token authenticate() accepted has been signed out since (a
   * subscription socket's periodic check: the token's signature cannot change, only its session).
   */
  signedOut(sessionId: string): Promise<boolean> {
    return this.#revoked(sessionId);
  }

  /** Whether the session `sid` was signed out (or is unknown to identity). */
  async #revoked(sid: string): Promise<boolean> {
    const known = this.#sessions.get(sid);
    if (known && (known.revoked || Date.now() - known.at < this.#sessionMs)) return known.revoked;
    try {
      const revoked = await this.#sessionLoader.load(sid);
      if (this.#sessions.size >= 100_000) this.#sessions.clear();
      this.#sessions.set(sid, { revoked, at: Date.now() });
      return revoked;
    } catch {
      if (known) return known.revoked;
      throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Cannot check the session right now; try again shortly');
    }
  }

  /** The caller of this request. Throws 401 for a credential that is present but not valid. */
  async actorFor(authorization: string | undefined, ip: string | null, requestId: string): Promise<Actor> {
    return (await this.authenticate(authorization, ip, requestId)).actor;
  }

  /**
   * actorFor(), and until when the credential is valid (an access token's expiry, in ms; null
   * for nobody and for API keys, which do not expire by time): a subscription socket closes then.
   */
  async authenticate(authorization: string | undefined, ip: string | null, requestId: string): Promise<{ actor: Actor; expiresAt: number | null; sessionId: string | null }> {
    if (!authorization) return { actor: anonymousActor(ip, requestId), expiresAt: null, sessionId: null };
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m) throw new HttpError(401, 'UNAUTHENTICATED', 'Authorization must be "Bearer <access token or API key>"');
    const credential = m[1]!;
    if (credential.startsWith(`${API_KEY_PREFIX}_`)) return { actor: await this.#apiKeyActor(credential, ip, requestId), expiresAt: null, sessionId: null };
    // A verified token answers again from memory until it expires (at most a minute, so a
    // key removed from identity's JWKS stops being honoured soon): players send one every
    // 30 s, and each verification is a quarter of a millisecond of CPU.
    const cached = this.#verified.get(credential);
    if (cached && cached.until > Date.now()) {
      if (await this.#revoked(cached.sid)) throw new HttpError(401, 'UNAUTHENTICATED', 'Access token is invalid or expired');
      return { actor: { ...cached.actor, ip, requestId }, expiresAt: cached.expiresAt, sessionId: cached.sid };
    }
    let claims: z.infer<typeof accessTokenClaims>;
    let payload: Record<string, unknown>;
    try {
      payload = await this.#verifyAccessToken(credential);
      claims = accessTokenClaims.parse(payload);
    } catch {
      throw new HttpError(401, 'UNAUTHENTICATED', 'Access token is invalid or expired');
    }
    if (await this.#revoked(claims.sid)) throw new HttpError(401, 'UNAUTHENTICATED', 'Access token is invalid or expired');
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
    const expiresAt = (payload.exp as number) * 1000;
    this.#verified.set(credential, { actor, sid: claims.sid, until: Math.min(expiresAt, Date.now() + 60_000), expiresAt });
    return { actor, expiresAt, sessionId: claims.sid };
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
      hit = { at: Date.now(), result: await this.#verifyApiKey(key) };
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(id, hit);
    }
    const r = hit.result;
    if (!r.valid) throw new HttpError(401, 'UNAUTHENTICATED', 'API key is invalid, expired or revoked');
    return { kind: 'api_key', userId: null, tenantId: r.tenantId, roles: [], superAdmin: false, scopes: r.scopes, apiKeyId: r.apiKeyId, ip, requestId };
  }

  async #verifyApiKey(key: string): Promise<ApiKeyVerification> {
    try {
      return await this.#identity(API_KEY_VERIFY_PATH, { key }, apiKeyVerification, null);
    } catch {
      throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Cannot verify the API key right now; try again shortly');
    }
  }

  /** Readiness: identity's signing keys can be fetched. */
  async checkJwks(): Promise<void> {
    const res = await fetch(new URL(JWKS_PATH, this.#identityOrigin), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`identity JWKS answered ${res.status}`);
  }
}
