// Capability URLs: an upload URL and a playback URL each carry a signature that proves the API
// handed them out, for one video, until an expiry. No session or database lookup is needed to
// check one, so the media process (or a CDN in front of it) verifies them on every request.
//
// Keys are per organization: key = HMAC-SHA256(MEDIA_SIGNING_SECRET, "lectern-media:<purpose>:<tenantId>"),
// purpose "upload" or "playback". A signature is HMAC-SHA256(key, "<tenantId>/<videoId>/<expiry>")
// in base64url, where expiry is Unix seconds. The URLs are
//   <MEDIA_PUBLIC_URL>/media/uploads/<tenantId>/<videoId>/<expiry>/<signature>
//   <MEDIA_PUBLIC_URL>/media/play/<tenantId>/<videoId>/<expiry>/<signature>/<file>
// so a playback signature covers every file under the video's folder (the master playlist, the
// renditions' playlists and segments they name by relative URI, poster, thumbnails, captions):
// the path prefix is the scope, as with a CDN's path-prefix token. A changed character, another
// video, another organization or a past expiry fails the check.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isUuid } from '@lectern/kernel';

export type Purpose = 'upload' | 'playback';

export interface SignedScope {
  tenantId: string;
  videoId: string;
  /** Unix seconds. */
  expires: number;
}

export class UrlSigner {
  readonly #secret: string;
  readonly #keys = new Map<string, Buffer>();
  readonly #signatures = new Map<string, string>();
  constructor(secret: string) {
    this.#secret = secret;
  }

  /** The organization's key for `purpose` (what a CDN configured for that organization holds). */
  key(tenantId: string, purpose: Purpose): Buffer {
    const id = `${purpose}:${tenantId}`;
    let k = this.#keys.get(id);
    if (!k) {
      k = createHmac('sha256', this.#secret).update(`lectern-media:${id}`).digest();
      if (this.#keys.size > 10_000) this.#keys.clear();
      this.#keys.set(id, k);
    }
    return k;
  }

  /**
   * The signature of a scope. URLs of one video handed out in the same minute share their expiry
   * (playback.ts rounds it), so the video's playlist, poster and every thumbnail are one HMAC,
   * remembered here.
   */
  sign(purpose: Purpose, s: SignedScope): string {
    const id = `${purpose}/${s.tenantId}/${s.videoId}/${s.expires}`;
    let sig = this.#signatures.get(id);
    if (!sig) {
      sig = this.#compute(purpose, s);
      if (this.#signatures.size > 10_000) this.#signatures.clear();
      this.#signatures.set(id, sig);
    }
    return sig;
  }

  #compute(purpose: Purpose, s: SignedScope): string {
    return createHmac('sha256', this.key(s.tenantId, purpose)).update(`${s.tenantId}/${s.videoId}/${s.expires}`).digest('base64url');
  }

  /** The path segments `<tenantId>/<videoId>/<expiry>/<signature>`. */
  path(purpose: Purpose, s: SignedScope): string {
    return `${s.tenantId}/${s.videoId}/${s.expires}/${this.sign(purpose, s)}`;
  }

  /**
   * The scope of `segments` (tenant, video, expiry, signature) when the signature is right and the
   * expiry has not passed; otherwise why not (for the refusal's body and the log).
   */
  verify(purpose: Purpose, segments: readonly string[], nowSeconds = Math.floor(Date.now() / 1000)): { ok: true; scope: SignedScope } | { ok: false; reason: string } {
    const [tenantId, videoId, exp, sig] = segments;
    if (!isUuid(tenantId) || !isUuid(videoId) || !exp || !/^\d{1,12}$/.test(exp) || !sig) return { ok: false, reason: 'malformed URL' };
    const scope = { tenantId, videoId, expires: Number(exp) };
    // Computed, not remembered: what clients send is theirs to vary.
    const expected = Buffer.from(this.#compute(purpose, scope));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
    if (scope.expires <= nowSeconds) return { ok: false, reason: 'expired' };
    return { ok: true, scope };
  }
}
