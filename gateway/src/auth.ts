// Who is calling: a verified identity access token (EdDSA, from identity's JWKS), an API
// key (checked by identity, cached briefly), or nobody. Anything else is UNAUTHENTICATED.
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { anonymousActor, type Actor, type ActorSigner } from '@lectern/kernel/actor';
import { HttpError } from '@lectern/kernel/http';
import {
  ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, API_KEY_PREFIX, API_KEY_VERIFY_PATH, JWKS_PATH,
  accessTokenClaims, apiKeyVerification, type ApiKeyVerification,
} from '@lectern/identity/contract';

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
      const { payload } = await jwtVerify(credential, this.#jwks, {
        issuer: ACCESS_TOKEN_ISSUER,
        audience: ACCESS_TOKEN_AUDIENCE,
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        clockTolerance: 5,
      });
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
      this.#verified.set(credential, { actor, until: Math.min((payload.exp ?? 0) * 1000, Date.now() + 60_000) });
      return actor;
    } catch {
      throw new HttpError(401, 'UNAUTHENTICATED', 'Access token is invalid or expired');
    }
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
