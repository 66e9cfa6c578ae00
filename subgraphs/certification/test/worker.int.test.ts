// A completion delivered three times to a worker SIGKILLed in the middle of generating its certificate: BullMQ gives the stalled job to
// the next worker, which finishes it; the completion still has exactly one certificate, with one
// credential, one PDF and one CertificateIssued. The job is caught mid-way by holding the
// stand-in identity's answer (the job asks for the learner's name first).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant } from '@lectern/kernel';
import { actor, certificatesOf, complete, courseGid, idem, issued, ok, organization, startHarness, until, type Harness } from './helpers.ts';

let h: Harness;
let child: ChildProcess | undefined;

beforeAll(async () => {
  h = await startHarness('certification-worker', { env: { CERTIFICATE_LOCK_MS: '2000' } });
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await h?.close();
});

describe('a worker killed mid-job', () => {
  it('leaves the certificate PENDING; the next worker issues it once', { timeout: 60_000 }, async () => {
    const org = organization(h);
    const learner = org.learner('Grace Hopper');
    const course = h.stubs.course(org.tenantId, 'Compilers');
    await ok(h, actor({ tenantId: org.tenantId, roles: ['ORG_ADMIN'] }), `mutation($i: SetCertificateRuleInput!) { setCertificateRule(input: $i) { errors { code } } }`, {
      i: { courseId: courseGid(course.courseId), enabled: true, idempotencyKey: idem() },
    });

    // The first worker runs as its own process, so it can be SIGKILLed.
    const held = h.stubs.holdContacts();
    const main = fileURLToPath(new URL('../src/worker.ts', import.meta.url));
    child = spawn(process.execPath, [main], { env: { ...process.env, ...h.rawEnv, LOG_LEVEL: 'silent' }, stdio: 'ignore' });
    // Delivered three times (the relay re-sent it), into a worker that dies mid-job.
    const { enrollmentId } = await complete(h, org.tenantId, learner.userId, course, { times: 3 });
    await held.arrived; // the child is inside the job, waiting for identity
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    held.release();
    const [mid] = await certificatesOf(h, org.tenantId, enrollmentId);
    expect(mid!.status).toBe('PENDING');

    await h.startWorker();
    const cert = await issued(h, org.tenantId, enrollmentId, 30_000);
    expect(cert.status).toBe('ISSUED');
    expect(cert.attempts).toBe(2);
    expect(await certificatesOf(h, org.tenantId, enrollmentId)).toHaveLength(1);
    const [events] = await inTenant(h.subgraph.deps.orm, org.tenantId, (uow) =>
      uow.statement<{ n: string }>(`select count(*) as n from outbox where tenant_id = ? and type = 'certification.CertificateIssued'`, [org.tenantId]),
    );
    expect(Number(events!.n)).toBe(1);
    const objects = await h.subgraph.runtime.storage.list(`${org.tenantId}/certificates/`);
    expect(objects.map((o) => o.key)).toEqual([cert.pdfKey]);
    await until(async () => (await inTenant(h.subgraph.deps.orm, null, (uow) => uow.statement(`select 1 from pending_certificates where certificate_id = ?`, [cert.id]))).length === 0);
  });
});
