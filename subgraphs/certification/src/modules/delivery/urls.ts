// The public URLs of certification, all under CERTIFICATION_PUBLIC_URL (the ingress):
// - /certification/verify/<organization>/<certificate>: the verification page a PDF's QR code
//   opens (public, for years: this origin must not change);
// - /certification/status/<list>: a status list credential (status-lists.ts);
// - /certification/pdf/<organization>/<certificate>/<expiry>/<signature>/certificate.pdf: a
//   certificate's PDF for whoever the API gave the URL to (its learner, ORG_ADMIN). The HMAC
//   (a key derived from CERTIFICATION_SECRET) covers organization, certificate and expiry, so a
//   changed character, another certificate or a past expiry is refused. Expiries are rounded up
//   to the minute: URLs handed out in the same minute are the same (clients cache them).
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { statusListUrl } from '../status/status-lists.ts';

export const VERIFY_PAGE_PATH = '/certification/verify/';
export const PDF_PATH = '/certification/pdf/';
export const VERIFY_API_PATH = '/certification/verify';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type PdfUrlCheck = { ok: true; tenantId: string; certificateId: string } | { ok: false; reason: string };

export class CertificateUrls {
  readonly #key: Buffer;
  readonly #origin: () => string;
  readonly #ttl: number;
  constructor(secret: string, origin: () => string, ttlSeconds: number) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'lectern-certification', 'pdf-urls', 32));
    this.#origin = origin;
    this.#ttl = ttlSeconds;
  }

  get origin(): string {
    return this.#origin().replace(/\/+$/, '');
  }

  verifyPage(tenantId: string, certificateId: string): string {
    return `${this.origin}${VERIFY_PAGE_PATH}${tenantId}/${certificateId}`;
  }

  statusList(listId: string): string {
    return statusListUrl(this.origin, listId);
  }

  #sign(tenantId: string, certificateId: string, expires: number): string {
    return createHmac('sha256', this.#key).update(`${tenantId}/${certificateId}/${expires}`).digest('base64url');
  }

  /** A signed download URL of the certificate's PDF, and when it stops working. */
  pdf(tenantId: string, certificateId: string, now = Date.now()): { url: string; expiresAt: Date } {
    const expires = Math.ceil((now / 1000 + this.#ttl) / 60) * 60;
    return { url: `${this.origin}${PDF_PATH}${tenantId}/${certificateId}/${expires}/${this.#sign(tenantId, certificateId, expires)}/certificate.pdf`, expiresAt: new Date(expires * 1000) };
  }

  /** Checks a PDF URL's path (after PDF_PATH): whose certificate it names, or why it is refused. */
  checkPdf(rest: string, now = Date.now()): PdfUrlCheck {
    const [tenantId, certificateId, expiry, signature, file, ...more] = rest.split('/');
    if (!tenantId || !certificateId || !expiry || !signature || file !== 'certificate.pdf' || more.length || !UUID.test(tenantId) || !UUID.test(certificateId) || !/^\d{1,12}$/.test(expiry)) {
      return { ok: false, reason: 'not a certificate URL' };
    }
    const expected = Buffer.from(this.#sign(tenantId, certificateId, Number(expiry)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'the signature does not match' };
    if (Number(expiry) * 1000 < now) return { ok: false, reason: 'the URL expired; ask the API for a new one' };
    return { ok: true, tenantId, certificateId };
  }
}
