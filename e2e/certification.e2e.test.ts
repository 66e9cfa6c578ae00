// Certification through the gateway, with every worker running: an ORG_ADMIN enables a course's
// certificate rule, a learner completes the course (learning's CourseCompleted reaches
// certification), and the certificate appears on the learner (User.certificates, federated with
// catalog's Course), and the learner is told. Anyone verifies it, signed in or not, from any organization; another
// organization can neither list nor revoke it; a revocation is what verifiers then report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '@lectern/kernel/ids';
import { gql, idem, until } from '@lectern/testkit';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedCourse, type SeededCourse } from '@lectern/catalog/testing';
import { okAs, run, startStack, type Stack } from './src/harness.ts';
import { LoginDocument } from './__generated__/graphql.ts';

let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let course: SeededCourse;
const t = { aAdmin: '', aLearner: '', aLearner2: '', bAdmin: '' };

async function login(user: { email: string }, org: { slug: string }): Promise<string> {
  const r = await run(stack.url, LoginDocument, { input: { email: user.email, password: TEST_PASSWORD, organizationSlug: org.slug, idempotencyKey: idem() } });
  return r.data!.login.accessToken!;
}

const MY_CERTIFICATES = `{ me { user { certificates { totalCount nodes { id status credential pdfUrl verificationUrl course { id title certificateRule { enabled validForDays } } } } } } }`;
const VERIFY = `query($i: VerifyCredentialInput!) { verifyCredential(input: $i) { status reasons issuer { name } achievementName } }`;

beforeAll(async () => {
  stack = await startStack('certification', {}, { workers: true, certification: true });
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme-certification');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'globex-certification');
  course = await seedCourse(stack.catalog.deps.orm, {
    tenantId: A.org.id,
    authorId: A.admin.id,
    title: 'Safe lifting',
    description: 'Lifting loads without hurting your back.',
    published: true,
    modules: [{ title: 'Reading', lessons: [{ title: 'Read me', kind: 'TEXT' }] }],
  });
  t.aAdmin = await login(A.admin, A.org);
  t.aLearner = await login(A.learner, A.org);
  t.aLearner2 = await login(A.learner2, A.org);
  t.bAdmin = await login(B.admin, B.org);
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('certification through the gateway', () => {
  let certificateId = '';
  let credential = '';

  it('issues the learner one certificate when they complete a course whose rule is enabled', { timeout: 60_000 }, async () => {
    const rule = await okAs(stack.url, t.aAdmin, `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { rule { enabled validForDays course { id title } } errors { code } } }`, {
      i: { courseId: globalId('Course', course.id), enabled: true, validForDays: 730, idempotencyKey: idem() },
    });
    expect(rule.setCertificateRule).toEqual({ rule: { enabled: true, validForDays: 730, course: { id: globalId('Course', course.id), title: 'Safe lifting' } }, errors: [] });

    const now = Date.now();
    const offering = await okAs(stack.url, t.aAdmin, `mutation($i: CreateOfferingInput!) { createOffering(input: $i) { offering { id } errors { code } } }`, {
      i: { courseId: globalId('Course', course.id), startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 30 * 86_400_000).toISOString(), selfEnrollment: true, idempotencyKey: idem() },
    });
    const cohort = await okAs(stack.url, t.aAdmin, `mutation($i: CreateCohortInput!) { createCohort(input: $i) { cohort { id } errors { code } } }`, {
      i: { offeringId: offering.createOffering.offering.id, name: 'All', capacity: 10, instructorIds: [], idempotencyKey: idem() },
    });
    await okAs(stack.url, t.aLearner, `mutation($i: EnrollLearnerInput!) { enrollLearner(input: $i) { enrollment { id } errors { code } } }`, { i: { cohortId: cohort.createCohort.cohort.id, idempotencyKey: idem() } });
    const lesson = course.modules[0]!.lessons[0]!;
    await until(async () => { // learning knows the enrollment (LearnerEnrolled), then the lesson is read
      const r = await gql(stack.url, `mutation($i: SyncProgressInput!) { syncProgress(input: $i) { lessons { status } } }`, {
        i: { deviceId: 'web', items: [{ lessonId: globalId('Lesson', lesson.id), position: 0, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true }], idempotencyKey: idem() },
      }, { token: t.aLearner });
      return r.data?.syncProgress?.lessons?.[0]?.status === 'COMPLETED';
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the untyped query's shape, read below
    const mine: any = await until(async () => { // CourseCompleted → certification → the worker
      const r = await okAs(stack.url, t.aLearner, MY_CERTIFICATES);
      return r.me.user.certificates.nodes[0]?.status === 'ISSUED' ? r.me.user.certificates : null;
    }, Boolean, 45_000);
    expect(mine.totalCount).toBe(1);
    const cert = mine.nodes[0];
    expect(cert.course).toEqual({ id: globalId('Course', course.id), title: 'Safe lifting', certificateRule: { enabled: true, validForDays: 730 } });
    certificateId = cert.id;
    credential = cert.credential;
    expect(JSON.parse(credential).credentialSubject.achievement).toMatchObject({ name: 'Safe lifting', description: 'Lifting loads without hurting your back.' });
    expect(JSON.parse(credential).issuer.name).toBe(A.org.name);
    const pdf = await fetch(cert.pdfUrl);
    expect(pdf.status).toBe(200);
    expect((await pdf.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect((await fetch(cert.verificationUrl)).status).toBe(200);
    // The learner is told (notifications hears certification's CertificateIssued).
    const told = await until(async () => {
      const r = await okAs(stack.url, t.aLearner, `{ notifications(first: 5, filter: { categories: [CERTIFICATE_ISSUED] }) { nodes { title course { id } } } }`);
      return r.notifications.nodes[0] ?? null;
    }, Boolean, 30_000);
    expect(told).toEqual({ title: 'Your certificate for “Safe lifting” is ready', course: { id: globalId('Course', course.id) } });
    // node(id:) refetches it; the other learner sees nothing.
    expect((await okAs(stack.url, t.aLearner, `query($id: ID!) { node(id: $id) { id ... on Certificate { status } } }`, { id: certificateId })).node).toEqual({ id: certificateId, status: 'ISSUED' });
    expect((await okAs(stack.url, t.aLearner2, `query($id: ID!) { node(id: $id) { id } }`, { id: certificateId })).node).toBeNull();
  });

  it('anyone verifies it; another organization cannot list or revoke it', async () => {
    const anonymous = await gql(stack.url, VERIFY, { i: { credential } });
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data!.verifyCredential).toEqual({ status: 'VALID', reasons: [], issuer: { name: A.org.name }, achievementName: 'Safe lifting' });
    expect((await okAs(stack.url, t.bAdmin, VERIFY, { i: { credential } })).verifyCredential.status).toBe('VALID');
    expect((await okAs(stack.url, t.bAdmin, `{ certificates { totalCount } }`)).certificates.totalCount).toBe(0);
    expect((await okAs(stack.url, t.bAdmin, `query($id: ID!) { node(id: $id) { id } }`, { id: certificateId })).node).toBeNull();
    const revoke = await gql(stack.url, `mutation($i: RevokeCertificateInput!) { revokeCertificate(input: $i) { errors { code } } }`, { i: { certificateId, reason: 'nope', idempotencyKey: idem() } }, { token: t.bAdmin });
    expect(revoke.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('the organization revokes it, and verifiers report it revoked', async () => {
    const r = await okAs(stack.url, t.aAdmin, `mutation($i: RevokeCertificateInput!) { revokeCertificate(input: $i) { certificate { status revocation { reason revokedBy { id } } } errors { code } } }`, {
      i: { certificateId, reason: 'Completed under another name', idempotencyKey: idem() },
    });
    expect(r.revokeCertificate).toEqual({ certificate: { status: 'REVOKED', revocation: { reason: 'Completed under another name', revokedBy: { id: globalId('User', A.admin.id) } } }, errors: [] });
    const v = await gql(stack.url, VERIFY, { i: { credential } });
    expect(v.data!.verifyCredential.status).toBe('REVOKED');
  });
});
