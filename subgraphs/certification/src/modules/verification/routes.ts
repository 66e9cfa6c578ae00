// Certification's public HTTP routes (no sign-in: verifiers are strangers; served by the
// subgraph process under /certification/, which the ingress exposes):
// - POST /certification/verify: the body is a credential (application/json or
//   application/vc+ld+json) or a certificate PDF (application/pdf); the answer is the
//   verification as JSON (the same as GraphQL's verifyCredential). At most 5 MiB, and
//   VERIFY_RATE_PER_MINUTE per client address (429 with Retry-After beyond).
// - GET /certification/verify/<organization>/<certificate>: the page a certificate's QR code
//   opens: the certificate's live status (valid, revoked with when, expired), what it certifies,
//   for whom and by whom, checked against its stored credential. Unknown or malformed → 404.
// - GET /certification/verify: a page to check any credential file or certificate PDF (the
//   script /certification/verify.js posts it to the endpoint above and shows the answer).
// - GET /certification/pdf/...: a certificate's PDF by signed URL (delivery/urls.ts).
import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant, type Logger } from '@lectern/kernel';
import { HttpError, readBodyBytes, sendJson, type Route } from '@lectern/kernel/http';
import type { ObjectStorage } from '@lectern/storage';
import type { CredentialVerification } from '../credential/verify.ts';
import { PDF_PATH, VERIFY_API_PATH, VERIFY_PAGE_PATH, type CertificateUrls } from '../delivery/urls.ts';
import type { Directory } from '../people/directory.ts';
import { certificateRow } from '../../views.ts';
import { MAX_VERIFY_BYTES, type Verifier } from './verifier.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CORS = { 'access-control-allow-origin': '*' };
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export interface RouteDeps {
  orm: MikroORM;
  verifier: Verifier;
  urls: CertificateUrls;
  storage: ObjectStorage;
  directory: Pick<Directory, 'learner'>;
  log: Logger;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const day = (iso: string | Date) => new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

function page(res: http.ServerResponse, status: number, title: string, body: string) {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1f2933}h1{font-size:1.5rem}.badge{display:inline-block;padding:.25rem .75rem;border-radius:1rem;font-weight:600}
.VALID{background:#d1fae5;color:#065f46}.REVOKED,.TAMPERED,.INVALID{background:#fee2e2;color:#991b1b}.EXPIRED{background:#fef3c7;color:#92400e}dt{font-weight:600;margin-top:.75rem}dd{margin:0}small{color:#52606d}li{margin:.25rem 0}</style></head><body>${body}</body></html>`;
  res.writeHead(status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
  res.end(html);
}

const WORDS: Record<CredentialVerification['status'], string> = {
  VALID: 'Valid',
  REVOKED: 'Revoked',
  EXPIRED: 'Expired',
  TAMPERED: 'Tampered with',
  INVALID: 'Not valid',
};

const VERIFY_SCRIPT = `document.getElementById('f').addEventListener('change', async (e) => {
  const file = e.target.files[0]; if (!file) return;
  const out = document.getElementById('out'); out.textContent = 'Checking…';
  const type = file.name.toLowerCase().endsWith('.pdf') || file.type === 'application/pdf' ? 'application/pdf' : 'application/json';
  try {
    const res = await fetch('${VERIFY_API_PATH}', { method: 'POST', headers: { 'content-type': type }, body: file });
    const v = await res.json();
    out.textContent = '';
    const h = document.createElement('p'); const b = document.createElement('span'); b.className = 'badge ' + (v.status || 'INVALID'); b.textContent = v.status || 'ERROR'; h.append(b); out.append(h);
    if (v.achievementName) { const p = document.createElement('p'); p.textContent = v.achievementName + (v.issuer && v.issuer.name ? ' — issued by ' + v.issuer.name : ''); out.append(p); }
    const ul = document.createElement('ul'); for (const r of (v.reasons || [v.errors && v.errors[0] && v.errors[0].message])) { const li = document.createElement('li'); li.textContent = r; ul.append(li); } out.append(ul);
  } catch (err) { out.textContent = 'The check failed: ' + err.message; }
});`;

/** The public routes (see the header). */
export function publicRoutes(deps: RouteDeps): Route[] {
  const verifyApi: Route = async (req, res, url, info) => {
    if (url.pathname !== VERIFY_API_PATH) return false;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' });
      res.end();
      return true;
    }
    if (req.method === 'GET') {
      page(
        res,
        200,
        'Verify a certificate',
        `<h1>Verify a certificate</h1><p>Choose a certificate PDF or an Open Badges 3.0 credential (.json) to check its signature, its issuer and whether it was revoked or expired. Nothing you choose is kept.</p>
<p><input type="file" id="f" accept=".pdf,.json,application/pdf,application/json"></p><div id="out" aria-live="polite"></div><script src="${VERIFY_API_PATH}.js"></script>`,
      );
      return true;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'use POST with a credential (application/json) or a PDF (application/pdf)' }, { ...CORS, allow: 'GET, POST, OPTIONS' });
      return true;
    }
    const wait = await deps.verifier.wait(info.ip);
    if (wait !== null) {
      sendJson(res, 429, { error: `too many verifications from your address: retry in ${wait} s` }, { ...CORS, 'retry-after': String(wait) });
      return true;
    }
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!['application/json', 'application/vc+ld+json', 'application/ld+json', 'application/pdf'].includes(type)) {
      sendJson(res, 415, { error: 'send the credential as application/json or the certificate as application/pdf' }, CORS);
      return true;
    }
    const body = await readBodyBytes(req, MAX_VERIFY_BYTES).catch((err: unknown) => {
      if (err instanceof HttpError) sendJson(res, err.status, { error: err.message }, CORS);
      return null;
    });
    if (!body) return true;
    const result = type === 'application/pdf' ? await deps.verifier.verifyPdf(new Uint8Array(body)) : await deps.verifier.verifyJson(body.toString('utf8'));
    sendJson(res, 200, result, CORS);
    return true;
  };

  const verifyScript: Route = (req, res, url) => {
    if (url.pathname !== `${VERIFY_API_PATH}.js`) return false;
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : VERIFY_SCRIPT);
    return true;
  };

  const certificatePage: Route = async (req, res, url) => {
    if (!url.pathname.startsWith(VERIFY_PAGE_PATH)) return false;
    const [tenantId, certificateId, ...rest] = url.pathname.slice(VERIFY_PAGE_PATH.length).split('/');
    const missing = () => page(res, 404, 'Certificate not found', '<h1>Certificate not found</h1><p>There is no certificate at this address. Check the link, or verify the certificate file itself.</p>');
    if (!tenantId || !certificateId || rest.length || !UUID.test(tenantId) || !UUID.test(certificateId)) {
      missing();
      return true;
    }
    const [row] = await inTenant(deps.orm, tenantId, (uow) => uow.statement(`select * from certificates where tenant_id = ? and id = ? and status = 'ISSUED'`, [tenantId, certificateId]));
    if (!row) {
      missing();
      return true;
    }
    const cert = certificateRow(row);
    const [result, learner] = await Promise.all([
      deps.verifier.verify(cert.credential),
      deps.directory.learner(tenantId, cert.learnerId).catch((err: unknown) => {
        deps.log.warn({ err }, 'verification page: the learner\'s name is unavailable');
        return undefined;
      }),
    ]);
    const status = result.status;
    const revoked = cert.revokedAt ? `<dt>Revoked</dt><dd>${escape(day(cert.revokedAt))}</dd>` : '';
    const who = learner === undefined ? '<em>(the name cannot be shown right now)</em>' : learner ? escape(learner.displayName) : '<em>(no longer a member of the organization)</em>';
    page(
      res,
      200,
      `${WORDS[status]} certificate`,
      `<h1>Certificate of completion</h1><p><span class="badge ${status}">${WORDS[status]}</span></p>
<dl><dt>Awarded to</dt><dd>${who}</dd><dt>For completing</dt><dd>${escape(result.achievementName ?? '')}</dd>
<dt>Issued by</dt><dd>${escape(result.issuer?.name ?? '')} <small>(${escape(result.issuer?.id ?? '')})</small></dd>
<dt>Issued</dt><dd>${escape(day(cert.issuedAt))}</dd>${cert.validUntil ? `<dt>Valid until</dt><dd>${escape(day(cert.validUntil))}</dd>` : ''}${revoked}
<dt>Checks</dt><dd><ul>${result.checks.map((c) => `<li>${c.passed === true ? '✔' : c.passed === false ? '✘' : '–'} ${escape(c.detail)}</li>`).join('')}</ul></dd></dl>
${result.reasons.length ? `<p>${result.reasons.map(escape).join('<br>')}</p>` : ''}<p><small>Certificate ${escape(cert.id)}. To check a certificate file itself, use <a href="${VERIFY_API_PATH}">the verifier</a>.</small></p>`,
    );
    return true;
  };

  const pdf: Route = async (req, res, url) => {
    if (!url.pathname.startsWith(PDF_PATH)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
      return true;
    }
    const check = deps.urls.checkPdf(url.pathname.slice(PDF_PATH.length));
    if (!check.ok) {
      sendJson(res, 403, { error: check.reason });
      return true;
    }
    const [row] = await inTenant(deps.orm, check.tenantId, (uow) =>
      uow.statement<{ pdf_key: string | null }>(`select pdf_key from certificates where tenant_id = ? and id = ? and status = 'ISSUED'`, [check.tenantId, check.certificateId]),
    );
    const object = row?.pdf_key ? await deps.storage.get(row.pdf_key) : null;
    if (!object) {
      sendJson(res, 404, { error: 'no such certificate' });
      return true;
    }
    res.writeHead(200, {
      'content-type': 'application/pdf',
      'content-length': object.size,
      'content-disposition': `inline; filename="certificate-${check.certificateId}.pdf"`,
      'cache-control': 'private, max-age=300',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      object.body.destroy();
      res.end();
      return true;
    }
    await pipeline(object.body, res);
    return true;
  };

  return [verifyApi, verifyScript, certificatePage, pdf];
}

