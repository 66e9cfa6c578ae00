// Certificates through certification's GraphQL API and public routes: who sees what (the
// learner their own, ORG_ADMIN the organization's, nobody another organization's), revocation
// (ORG_ADMIN, reason kept, the status list re-signed, verifiers say REVOKED), the public verifier
// (JSON or PDF, anonymous, any organization; one changed character is TAMPERED), signed PDF
// URLs, the verification page, and the SQL a list costs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousActor } from '@lectern/kernel/actor';
import { verifyOffline } from '../src/modules/credential/verify.ts';
import { actor, call, certificateGid, complete, courseGid, errorCode, idem, issued, ok, organization, startHarness, userGid, type Data, type Harness } from './helpers.ts';

let h: Harness;
let acme: ReturnType<typeof organization>;
let other: ReturnType<typeof organization>;
let ada: { userId: string; displayName: string; email: string };
let bob: { userId: string; displayName: string; email: string };
let certId: string;
let credential: Data;

const adminOf = (tenantId: string) => actor({ tenantId, roles: ['ORG_ADMIN'] });
const learnerActor = (tenantId: string, userId: string) => actor({ tenantId, userId, roles: ['LEARNER'] });
const CERT = `query($id: ID!) { certificate(id: $id) { id status credential pdfUrl verificationUrl issuedAt revocation { reason revokedBy { id } } learner { id } course { id } } }`;
const VERIFY = `query($i: VerifyCredentialInput!) { verifyCredential(input: $i) { status reasons checks { name passed detail } issuer { id name } achievementName credentialId } }`;
const REVOKE = `mutation($i: RevokeCertificateInput!) { revokeCertificate(input: $i) { certificate { status revocation { reason } } errors { code message } } }`;

beforeAll(async () => {
  h = await startHarness('certification-api', { worker: true });
  acme = organization(h, 'Acme Academy');
  other = organization(h, 'Other Org');
  ada = acme.learner('Ada Lovelace');
  bob = acme.learner('Bob Babbage');
  const course = h.stubs.course(acme.tenantId, 'Engines');
  await ok(h, adminOf(acme.tenantId), `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { errors { code } } }`, {
    i: { courseId: courseGid(course.courseId), enabled: true, idempotencyKey: idem() },
  });
  const { enrollmentId } = await complete(h, acme.tenantId, ada.userId, course);
  const cert = await issued(h, acme.tenantId, enrollmentId);
  certId = cert.id;
  credential = cert.credential;
  await issued(h, acme.tenantId, (await complete(h, acme.tenantId, bob.userId, course)).enrollmentId);
});

afterAll(async () => {
  await h?.close();
});

describe('who sees certificates', () => {
  it('the learner sees their own, with the credential, a PDF URL and the verification page', async () => {
    const r = await ok<Data>(h, learnerActor(acme.tenantId, ada.userId), CERT, { id: certificateGid(certId) });
    expect(r.certificate).toMatchObject({ status: 'ISSUED', learner: { id: userGid(ada.userId) } });
    expect(JSON.parse(r.certificate.credential)).toEqual(credential);
    const pdf = await fetch(r.certificate.pdfUrl);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
    const page = await fetch(r.certificate.verificationUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Valid');
    expect(html).toContain('Ada Lovelace');
    expect(html).toContain('Engines');
  });

  it("another learner, and another organization's admin, get null; lists show only what each may see", async () => {
    expect((await ok<Data>(h, learnerActor(acme.tenantId, bob.userId), CERT, { id: certificateGid(certId) })).certificate).toBeNull();
    expect((await ok<Data>(h, adminOf(other.tenantId), CERT, { id: certificateGid(certId) })).certificate).toBeNull();
    const mine = await ok<Data>(h, learnerActor(acme.tenantId, bob.userId), `{ certificates { totalCount nodes { learner { id } } } }`);
    expect(mine.certificates.totalCount).toBe(1);
    expect(mine.certificates.nodes[0].learner.id).toBe(userGid(bob.userId));
    expect((await ok<Data>(h, adminOf(acme.tenantId), `{ certificates { totalCount } }`)).certificates.totalCount).toBe(2);
    expect((await ok<Data>(h, adminOf(other.tenantId), `{ certificates { totalCount } }`)).certificates.totalCount).toBe(0);
    // User.certificates (through _entities, as the gateway asks): Bob sees nothing of Ada's.
    const ENT = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { certificates { totalCount } } } }`;
    const reps = { r: [{ __typename: 'User', id: userGid(ada.userId) }] };
    expect((await ok<Data>(h, learnerActor(acme.tenantId, bob.userId), ENT, reps))._entities[0].certificates.totalCount).toBe(0);
    expect((await ok<Data>(h, adminOf(acme.tenantId), ENT, reps))._entities[0].certificates.totalCount).toBe(1);
    expect((await ok<Data>(h, adminOf(other.tenantId), ENT, reps))._entities[0].certificates.totalCount).toBe(0);
  });

  it('costs the same SQL statements for 100 learners\' certificates as for 1', async () => {
    const ENT = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { certificates(first: 5) { totalCount nodes { id status credential revocation { reason } course { id } } } } } }`;
    const statements = async (users: string[]) => {
      const before = h.subgraph.deps.stats.statements;
      await ok(h, adminOf(acme.tenantId), ENT, { r: users.map((u) => ({ __typename: 'User', id: userGid(u) })) });
      return h.subgraph.deps.stats.statements - before;
    };
    const many = [ada.userId, bob.userId, ...Array.from({ length: 98 }, () => crypto.randomUUID())];
    expect(await statements(many)).toBe(await statements([ada.userId]));
  });
});

describe('verifying', () => {
  it('anyone (anonymous, another organization) verifies the credential: VALID with its issuer', async () => {
    for (const who of [anonymousActor(), adminOf(other.tenantId)]) {
      const r = await ok<Data>(h, who, VERIFY, { i: { credential: JSON.stringify(credential) } });
      expect(r.verifyCredential).toMatchObject({ status: 'VALID', reasons: [], issuer: { name: 'Acme Academy' }, achievementName: 'Engines', credentialId: `urn:uuid:${certId}` });
    }
  });

  it('one changed character is TAMPERED; a non-credential is INVALID; both or neither field is BAD_USER_INPUT', async () => {
    const changed = JSON.stringify(credential).replace('"Engines"', '"Enginez"');
    expect((await ok<Data>(h, anonymousActor(), VERIFY, { i: { credential: changed } })).verifyCredential.status).toBe('TAMPERED');
    expect((await ok<Data>(h, anonymousActor(), VERIFY, { i: { credential: 'not json' } })).verifyCredential.status).toBe('INVALID');
    expect(errorCode(await call(h, anonymousActor(), VERIFY, { i: {} }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await call(h, anonymousActor(), VERIFY, { i: { credential: '{}', pdf: 'JVBERi0=' } }))).toBe('BAD_USER_INPUT');
  });

  it('the public endpoint takes the PDF or the JSON', async () => {
    const r = await ok<Data>(h, learnerActor(acme.tenantId, ada.userId), CERT, { id: certificateGid(certId) });
    const pdf = Buffer.from(await (await fetch(r.certificate.pdfUrl)).arrayBuffer());
    const base = new URL(h.url).origin;
    const byPdf = await (await fetch(`${base}/certification/verify`, { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: pdf })).json();
    expect(byPdf.status).toBe('VALID');
    const byJson = await (await fetch(`${base}/certification/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credential) })).json();
    expect(byJson.status).toBe('VALID');
    const viaGraphQL = await ok<Data>(h, anonymousActor(), VERIFY, { i: { pdf: pdf.toString('base64') } });
    expect(viaGraphQL.verifyCredential.status).toBe('VALID');
    const junk = await fetch(`${base}/certification/verify`, { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: 'hello' });
    expect(junk.status).toBe(200);
    expect((await junk.json()).status).toBe('INVALID');
  });

  it('a changed PDF URL is refused', async () => {
    const r = await ok<Data>(h, learnerActor(acme.tenantId, ada.userId), CERT, { id: certificateGid(certId) });
    const url: string = r.certificate.pdfUrl;
    const sig = url.split('/').at(-2)!;
    const flipped = url.replace(sig, (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    expect((await fetch(flipped)).status).toBe(403);
    const unknown = await fetch(`${new URL(h.url).origin}/certification/verify/${acme.tenantId}/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
  });
});

describe('revoking', () => {
  it('only ORG_ADMIN of the organization revokes; the reason is kept; verifiers then say REVOKED', async () => {
    expect(errorCode(await call(h, learnerActor(acme.tenantId, ada.userId), REVOKE, { i: { certificateId: certificateGid(certId), reason: 'x', idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    expect(errorCode(await call(h, adminOf(other.tenantId), REVOKE, { i: { certificateId: certificateGid(certId), reason: 'x', idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    const key = idem();
    const input = { i: { certificateId: certificateGid(certId), reason: 'Issued in error', idempotencyKey: key } };
    const admin = adminOf(acme.tenantId);
    const r = await ok<Data>(h, admin, REVOKE, input);
    expect(r.revokeCertificate).toEqual({ certificate: { status: 'REVOKED', revocation: { reason: 'Issued in error' } }, errors: [] });
    // A replay gets the same answer; a second revocation is an expected outcome.
    expect((await ok<Data>(h, admin, REVOKE, input)).revokeCertificate.errors).toEqual([]);
    const again = await ok<Data>(h, adminOf(acme.tenantId), REVOKE, { i: { certificateId: certificateGid(certId), reason: 'Twice', idempotencyKey: idem() } });
    expect(again.revokeCertificate.errors[0].code).toBe('ALREADY_REVOKED');

    expect((await ok<Data>(h, anonymousActor(), VERIFY, { i: { credential: JSON.stringify(credential) } })).verifyCredential.status).toBe('REVOKED');
    const list = await (await fetch(credential.credentialStatus.statusListCredential)).json();
    expect(await verifyOffline(credential, list)).toMatchObject({ verified: false, revoked: true });
    const page = await (await fetch(`${new URL(h.url).origin}/certification/verify/${acme.tenantId}/${certId}`)).text();
    expect(page).toContain('Revoked');
    const mine = await ok<Data>(h, learnerActor(acme.tenantId, ada.userId), CERT, { id: certificateGid(certId) });
    expect(mine.certificate).toMatchObject({ status: 'REVOKED', revocation: { reason: 'Issued in error' } });
  });
});

describe('the verifier under load', () => {
  it('limits each client address (VERIFY_RATE_PER_MINUTE, VERIFY_BURST): 429 with Retry-After, RATE_LIMITED in GraphQL; another address is not affected', async () => {
    const base = new URL(h.url).origin;
    let refused: Response | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const r = await fetch(`${base}/certification/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (r.status === 429) refused = r;
      else await r.body?.cancel();
    }
    expect(refused?.status).toBe(429);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await call(h, anonymousActor('203.0.113.9'), VERIFY, { i: { credential: '{}' } });
      if (errorCode(r) === 'RATE_LIMITED') limited = r;
    }
    expect(limited?.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    expect((await ok<Data>(h, anonymousActor('203.0.113.10'), VERIFY, { i: { credential: '{}' } })).verifyCredential.status).toBe('INVALID');
  });
});
