// What certification does when what it needs is missing for a while: identity (the learner's
// name and email) down while a certificate is generated, a learner who left before it was, and a
// certificate whose job Redis never got. Accepted work is finished once the dependency is back, without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTACTS_PATH } from '@lectern/contracts/identity';
import { seedCertificate } from '../src/testing/index.ts';
import { actor, call, certificateById, certificateGid, certificatesOf, complete, courseGid, errorCode, idem, issued, ok, organization, startHarness, until, type Harness } from './helpers.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('certification-outage', { worker: true });
});

afterAll(async () => {
  await h?.close();
});

describe('outages', () => {
  it('retries the job while identity cannot answer, and issues the certificate once it does', async () => {
    const org = organization(h);
    const learner = org.learner('Katherine Johnson');
    const course = h.stubs.course(org.tenantId, 'Orbital mechanics');
    await ok(h, actor({ tenantId: org.tenantId, roles: ['ORG_ADMIN'] }), `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { errors { code } } }`, {
      i: { courseId: courseGid(course.courseId), enabled: true, idempotencyKey: idem() },
    });
    h.stubs.failing.add(CONTACTS_PATH);
    const asked = h.stubs.calls[CONTACTS_PATH] ?? 0;
    try {
      const { enrollmentId } = await complete(h, org.tenantId, learner.userId, course);
      // The job asked identity, and was answered 503 (the stand-in counts a request before answering it).
      await until(() => (h.stubs.calls[CONTACTS_PATH] ?? 0) > asked);
      const [failing] = await certificatesOf(h, org.tenantId, enrollmentId);
      expect(failing?.status).toBe('PENDING');
      h.stubs.failing.delete(CONTACTS_PATH);
      const cert = await issued(h, org.tenantId, enrollmentId);
      expect(cert.status).toBe('ISSUED');
      expect(cert.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      h.stubs.failing.clear();
    }
  });

  it('answers SERVICE_UNAVAILABLE at once when catalog cannot say whether a rule\'s course exists', async () => {
    const org = organization(h);
    const course = h.stubs.course(org.tenantId, 'Unreachable');
    h.stubs.down = true;
    try {
      const started = Date.now();
      const r = await call(h, actor({ tenantId: org.tenantId, roles: ['ORG_ADMIN'] }), `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { errors { code } } }`, {
        i: { courseId: courseGid(course.courseId), enabled: true, idempotencyKey: idem() },
      });
      expect(errorCode(r)).toBe('SERVICE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      h.stubs.down = false;
    }
  });

  it('fails at once when the learner left the organization, and an ORG_ADMIN retries it once they are back', async () => {
    const org = organization(h);
    const learner = org.learner('Mary Jackson', 'mary@example.org');
    const course = h.stubs.course(org.tenantId, 'Wind tunnels');
    const admin = actor({ tenantId: org.tenantId, roles: ['ORG_ADMIN'] });
    await ok(h, admin, `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { errors { code } } }`, { i: { courseId: courseGid(course.courseId), enabled: true, idempotencyKey: idem() } });
    h.stubs.removeMember(org.tenantId, learner.userId);
    const { enrollmentId } = await complete(h, org.tenantId, learner.userId, course);
    const failed = await issued(h, org.tenantId, enrollmentId);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1, failureReason: 'Generating the certificate failed: the learner is no longer a member of the organization' });
    h.stubs.member(org.tenantId, learner.userId, 'Mary Jackson', 'mary@example.org');
    const retried = await ok<{ retryCertificate: { certificate: { status: string }; errors: unknown[] } }>(h, admin, `mutation($i: RetryCertificateInput!) { retryCertificate(input: $i) { certificate { status } errors { code } } }`, {
      i: { certificateId: certificateGid(failed.id), idempotencyKey: idem() },
    });
    expect(retried.retryCertificate).toEqual({ certificate: { status: 'PENDING' }, errors: [] });
    expect((await issued(h, org.tenantId, enrollmentId)).status).toBe('ISSUED');
  });

  it('issues a certificate whose job Redis never got (the sweep)', async () => {
    const org = organization(h, 'Sweep Org');
    const learner = org.learner('Dorothy Vaughan');
    const course = h.stubs.course(org.tenantId, 'FORTRAN');
    // Made by the real evaluation with no job enqueued: only pending_certificates knows of it.
    const id = await seedCertificate(h.subgraph.deps.orm, {
      tenantId: org.tenantId, learnerId: learner.userId, courseId: course.courseId, courseVersionId: course.versionId, origin: h.env.CERTIFICATION_PUBLIC_URL!,
    });
    const cert = await until(() => certificateById(h, org.tenantId, id), (c) => c?.status === 'ISSUED');
    expect(cert!.credential).not.toBeNull();
  });
});
