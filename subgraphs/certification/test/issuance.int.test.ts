// From a completion to an issued certificate, against the real PostgreSQL, Redis and BullMQ:
// exactly one certificate per completion however the event is re-delivered, the rule (none,
// disabled, past completions, minimum quiz grade, validity period), a credential that verifies
// offline with the library's verifier and validates against the 1EdTech OB 3.0 JSON schema, and
// a PDF that renders and carries it.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant } from '@lectern/kernel';
import { verifyOffline } from '../src/modules/credential/verify.ts';
import { credentialFromPdf } from '../src/modules/pdf/extract.ts';
import { actor, certificatesOf, complete, courseGid, grade, idem, issued, ok, organization, startHarness, until, type Data, type Harness, type StubVersion } from './helpers.ts';

const run = promisify(execFile);
let h: Harness;
/** true, or the schema's complaints (so a failing expectation shows them). */
let validate: (data: unknown) => true | unknown[];

beforeAll(async () => {
  h = await startHarness('certification-issuance', { worker: true });
  const schema = JSON.parse(await readFile(new URL('./data/ob_v3p0_achievementcredential_schema.json', import.meta.url), 'utf8'));
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2019) => void)(ajv);
  const v = ajv.compile(schema);
  validate = (data) => (v(data) ? true : [...(v.errors ?? [])]);
});

afterAll(async () => {
  await h?.close();
});

const RULE = `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { rule { enabled minimumQuizGrade validForDays } errors { code message } } }`;

async function rule(tenantId: string, version: StubVersion, input: Record<string, unknown> = {}) {
  const admin = actor({ tenantId, roles: ['ORG_ADMIN'] });
  const r = await ok<Data>(h, admin, RULE, { i: { courseId: courseGid(version.courseId), enabled: true, idempotencyKey: idem(), ...input } });
  expect(r.setCertificateRule.errors).toEqual([]);
  return r.setCertificateRule.rule;
}

describe('issuing', () => {
  it('issues exactly one certificate for a completion delivered three times, and three distinct events for it', async () => {
    const org = organization(h, 'Acme Academy');
    const ada = org.learner('Ada Lovelace');
    const course = h.stubs.course(org.tenantId, 'Analytical Engines 101');
    await rule(org.tenantId, course);

    const { enrollmentId } = await complete(h, org.tenantId, ada.userId, course, { times: 3 });
    await complete(h, org.tenantId, ada.userId, course, { enrollmentId, times: 3, distinct: true });
    const cert = await issued(h, org.tenantId, enrollmentId);
    expect(cert.status).toBe('ISSUED');
    // Every delivery processed, still one certificate, one CertificateIssued in the outbox.
    await until(async () => ((await h.events.getJobCounts('completed')).completed ?? 0) >= 6);
    expect(await certificatesOf(h, org.tenantId, enrollmentId)).toHaveLength(1);
    const events = await inTenant(h.subgraph.deps.orm, org.tenantId, (uow) =>
      uow.statement<{ n: string }>(`select count(*) as n from outbox where tenant_id = ? and type = 'certification.CertificateIssued' and aggregate_id = ?`, [org.tenantId, cert.id]),
    );
    expect(Number(events[0]!.n)).toBe(1);
  });

  it('signs an OB 3.0 credential that verifies offline and validates against the 1EdTech schema, and a PDF that renders and carries it', async () => {
    const org = organization(h, 'Zürich Institute');
    const zoe = org.learner('Zoë Ångström', 'zoe@example.org');
    const course = h.stubs.course(org.tenantId, 'Quantum Basics', { description: 'Qubits, gates and measurement.' });
    await rule(org.tenantId, course, { validForDays: 365 });
    const { enrollmentId } = await complete(h, org.tenantId, zoe.userId, course);
    const cert = await issued(h, org.tenantId, enrollmentId);
    expect(cert.status).toBe('ISSUED');
    expect(cert.validUntil!.getTime() - cert.issuedAt.getTime()).toBe(365 * 86_400_000);

    const credential = cert.credential as Data;
    expect(credential.type).toEqual(['VerifiableCredential', 'OpenBadgeCredential']);
    expect(credential.issuer.name).toBe('Zürich Institute');
    expect(credential.issuer.id).toMatch(/^did:key:z6Mk/);
    expect(credential.credentialSubject.achievement.name).toBe('Quantum Basics');
    expect(credential.credentialSubject.achievement.description).toBe('Qubits, gates and measurement.');
    expect(credential.validUntil).toBe(cert.validUntil!.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    // Personal data: a salted hash of the email, nothing else.
    const text = JSON.stringify(credential);
    expect(text).not.toContain('zoe@example.org');
    expect(text).not.toContain('Zoë');
    expect(validate(credential)).toBe(true);

    const list = await (await fetch(credential.credentialStatus.statusListCredential)).json();
    const offline = await verifyOffline(credential, list);
    expect(offline).toMatchObject({ verified: true, revoked: false });

    const object = await h.subgraph.runtime.storage.get(cert.pdfKey!);
    const chunks: Buffer[] = [];
    for await (const c of object!.body) chunks.push(c as Buffer);
    const pdf = Buffer.concat(chunks);
    const file = `${h.storageDir}/check-${cert.id}.pdf`;
    await writeFile(file, pdf);
    await run('pdftoppm', ['-png', '-r', '40', '-singlefile', file, `${h.storageDir}/page-${cert.id}`]);
    expect((await readFile(`${h.storageDir}/page-${cert.id}.png`)).subarray(1, 4).toString()).toBe('PNG');
    const { stdout } = await run('pdftotext', [file, '-']);
    expect(stdout).toContain('Zoë Ångström');
    expect(stdout).toContain('Quantum Basics');
    expect(stdout).toContain('Zürich Institute');
    expect(JSON.parse((await credentialFromPdf(new Uint8Array(pdf)))!)).toEqual(credential);
  });

  it('issues nothing without an enabled rule; enabling it with includePastCompletions certifies those completions', async () => {
    const org = organization(h);
    const a = org.learner();
    const course = h.stubs.course(org.tenantId, 'No rule yet');
    const { enrollmentId } = await complete(h, org.tenantId, a.userId, course);
    // The completion is recorded (the rule may come later), and no certificate is made.
    await until(async () => {
      const [row] = await inTenant(h.subgraph.deps.orm, org.tenantId, (uow) => uow.statement(`select 1 from completions where tenant_id = ? and enrollment_id = ?`, [org.tenantId, enrollmentId]));
      return row;
    });
    expect(await certificatesOf(h, org.tenantId, enrollmentId)).toHaveLength(0);
    await rule(org.tenantId, course, { enabled: false });
    expect(await certificatesOf(h, org.tenantId, enrollmentId)).toHaveLength(0);
    await rule(org.tenantId, course, { includePastCompletions: true });
    expect((await issued(h, org.tenantId, enrollmentId)).status).toBe('ISSUED');
  });

  it('waits for the minimum grade in every quiz of the completed version', async () => {
    const org = organization(h);
    const a = org.learner();
    const [q1, q2] = [crypto.randomUUID(), crypto.randomUUID()];
    const course = h.stubs.course(org.tenantId, 'Graded course', { quizIds: [q1, q2] });
    await rule(org.tenantId, course, { minimumQuizGrade: 0.8 });
    await grade(h, org.tenantId, a.userId, q1, 0.9);
    const { enrollmentId } = await complete(h, org.tenantId, a.userId, course);
    await grade(h, org.tenantId, a.userId, q2, 0.7);
    // The grade's transaction also evaluated the completion: once it is there, the answer is in.
    await until(async () => {
      const [row] = await inTenant(h.subgraph.deps.orm, org.tenantId, (uow) => uow.statement<{ score: number }>(`select score from quiz_grades where tenant_id = ? and learner_id = ? and quiz_id = ?`, [org.tenantId, a.userId, q2]));
      return row && Number(row.score) === 0.7;
    });
    await until(async () => {
      const [row] = await inTenant(h.subgraph.deps.orm, org.tenantId, (uow) => uow.statement(`select 1 from completions where tenant_id = ? and enrollment_id = ?`, [org.tenantId, enrollmentId]));
      return row;
    });
    // 0.9 and 0.7 < 0.8: not yet.
    expect(await certificatesOf(h, org.tenantId, enrollmentId)).toHaveLength(0);
    await grade(h, org.tenantId, a.userId, q2, 0.85);
    expect((await issued(h, org.tenantId, enrollmentId)).status).toBe('ISSUED');
  });
});
