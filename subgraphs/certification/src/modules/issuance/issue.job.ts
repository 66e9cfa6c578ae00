// From a PENDING certificate to an issued one, in the worker (queue jobs-certification).
//
// issue-certificate (job id `certificate-<id>`, so one job per certificate however often asked):
//   1. the certificate's row (nothing to do unless PENDING), its attempt counted;
//   2. the signed credential: built (OB 3.0 AchievementCredential: the organization as issuer,
//      the completed version as the achievement, the learner as a salted hash of their email,
//      the status list entry) and signed with the organization's key, then stored only if none is
//      stored yet; a rerun after a crash reuses the stored one, so a certificate has exactly one
//      credential whatever happens;
//   3. the PDF (pdf/certificate-pdf.ts: logo, learner, course, dates, QR code to the
//      verification page, the credential attached), stored at <organization>/certificates/<id>.pdf
//      (the same key every run: a rerun overwrites it with the same bytes);
//   4. ONE transaction: ISSUED only if still PENDING, CertificateIssued through the outbox, the
//      pending row gone.
// The job's progress says where it is (10, 40, 80, 100). A worker killed anywhere leaves the
// certificate PENDING; BullMQ gives the stalled job to a worker again after the lock expires.
// After its attempts BullMQ gives up and the certificate is FAILED with the reason (an admin may
// retry it); what a retry cannot mend (the learner left, input the PDF cannot print) fails at once. The sweep re-enqueues PENDING certificates whose job Redis never got or lost.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import { type Logger, type UnitOfWork } from '@lectern/kernel';
import { defineJob, enqueueOrLeaveToSweep, type JobDefinition } from '@lectern/kernel/consumers';
import { recordEvent } from '@lectern/kernel/outbox';
import { periodic, type Periodic } from '@lectern/kernel/periodic';
import { jobQueueName } from '@lectern/kernel/worker';
import { CERTIFICATION, CertificateIssued } from '@lectern/contracts/certification';
import type { ObjectStorage } from '@lectern/storage';
import { buildAchievementCredential, signCredential } from '../credential/credential.ts';
import type { IssuerKey } from '../credential/keys.ts';
import type { Directory } from '../people/directory.ts';
import { CertificateInputError, renderCertificatePdf } from '../pdf/certificate-pdf.ts';
import type { CertificateUrls } from '../delivery/urls.ts';
import { ensureIssuer, publishIssuer } from '../issuer/issuer.ts';
import { versionFacts } from './evaluate.ts';
import { certificateRow, type CertificateView } from '../../views.ts';

export const ISSUE_CERTIFICATE = 'issue-certificate';
const SWEEP_LIMIT = 500;

const payload = z.strictObject({ tenantId: z.string().uuid(), certificateId: z.string().uuid() });

/** The job id of a certificate's generation (a retry adds a round of its own). */
export const certificateJobId = (certificateId: string, round?: string) => (round ? `certificate-${certificateId}-${round}` : `certificate-${certificateId}`);
const producerSide = defineJob({ queue: jobQueueName(CERTIFICATION), name: ISSUE_CERTIFICATE, payload, run: () => Promise.reject(new Error('producer-side definition')) });

/** Asks the worker to generate a certificate; never throws (the sweep covers a job Redis did not take). */
export type Generate = (tenantId: string, certificateId: string, round?: string) => Promise<void>;

export function generateProducer(queue: Queue, log: Logger): Generate {
  return async (tenantId, certificateId, round) => {
    await enqueueOrLeaveToSweep(queue, producerSide, { tenantId, certificateId }, { jobId: certificateJobId(certificateId, round) }, log, { tenantId, certificateId });
  };
}

export interface IssueDeps {
  storage: ObjectStorage;
  directory: Directory;
  urls: CertificateUrls;
  secret: string;
}

/** The object key of a certificate's PDF. */
export const pdfKey = (tenantId: string, certificateId: string) => `${tenantId}/certificates/${certificateId}.pdf`;

export function certificationJobs(deps: IssueDeps): JobDefinition[] {
  return [
    defineJob({
      queue: jobQueueName(CERTIFICATION),
      name: ISSUE_CERTIFICATE,
      payload,
      run: ({ uow, data, job, log }) => issueCertificate(deps, uow, data.certificateId, job, log),
      // BullMQ gave up (the attempts failed, or workers kept dying under it): the certificate says so.
      failed: async ({ uow, data, reason: error }) => {
        const reason = `Generating the certificate failed: ${error}`;
        await uow.write(async (em) => {
          await em.execute(`update certificates set status = 'FAILED', failure_reason = ?, updated_at = now() where tenant_id = ? and id = ? and status = 'PENDING'`, [reason, uow.tenantId, data.certificateId]);
          await em.execute(`delete from pending_certificates where certificate_id = ? and organization_id = ?`, [data.certificateId, uow.tenantId]);
        });
      },
    }),
  ];
}

type Outcome = 'issued' | 'nothing to do';

async function issueCertificate(deps: IssueDeps, uow: UnitOfWork, certificateId: string, job: Job, log: Logger): Promise<Outcome> {
  const tenantId = uow.tenantId!;
  const rows = await uow.write((em) =>
    em.execute<Record<string, unknown>[]>(
      `update certificates set attempts = attempts + 1, updated_at = now() where tenant_id = ? and id = ? and status = 'PENDING' returning *`,
      [tenantId, certificateId],
    ),
  );
  if (!rows[0]) {
    await uow.write((em) => em.execute(`delete from pending_certificates where certificate_id = ? and organization_id = ?`, [certificateId, tenantId]));
    return 'nothing to do';
  }
  let cert = certificateRow(rows[0]);
  await job.updateProgress(10);

  const [organizationName, learner] = await Promise.all([deps.directory.organizationName(tenantId), deps.directory.learner(tenantId, cert.learnerId)]);
  // No longer a member: there is no one to issue to (and no email to bind the credential to).
  // Retrying will not change that: FAILED at once (retryCertificate once they are back).
  if (!learner) throw new UnrecoverableError('the learner is no longer a member of the organization');

  const { key, facts } = await uow.write(async (em) => ({
    key: await ensureIssuer(em, tenantId, deps.secret),
    facts: await versionFacts(em, deps, tenantId, cert.courseVersionId),
  }));
  if (!cert.credential) cert = await storeCredential(deps, uow, cert, key, { organizationName, email: learner.email, title: facts.title, description: facts.description });
  await job.updateProgress(40);

  const [branding] = await uow.statement<{ logo: Buffer | null; logo_type: 'png' | 'jpeg' | null }>(`select logo, logo_type from branding where tenant_id = ?`, [tenantId]);
  const pdf = await renderPdf(
    {
      certificateId: cert.id,
      organizationName,
      logo: branding?.logo && branding.logo_type ? { bytes: new Uint8Array(branding.logo), type: branding.logo_type } : null,
      learnerName: learner.displayName,
      courseTitle: facts.title,
      issuedAt: cert.issuedAt,
      validUntil: cert.validUntil,
      verifyUrl: deps.urls.verifyPage(tenantId, cert.id),
      credentialJson: JSON.stringify(cert.credential, null, 2),
    },
    (percent) => void job.updateProgress(40 + Math.round(percent * 0.35)).catch(() => undefined),
  );
  const key_ = pdfKey(tenantId, cert.id);
  await deps.storage.put(key_, Buffer.from(pdf), { contentType: 'application/pdf' });
  await job.updateProgress(80);

  const issued = await uow.write(async (em) => {
    const [row] = await em.execute<{ id: string }[]>(
      `update certificates set status = 'ISSUED', pdf_key = ?, pdf_bytes = ?, failure_reason = null, updated_at = now()
        where tenant_id = ? and id = ? and status = 'PENDING' returning id`,
      [key_, pdf.byteLength, tenantId, cert.id],
    );
    await em.execute(`delete from pending_certificates where certificate_id = ? and organization_id = ?`, [cert.id, tenantId]);
    if (!row) return false;
    await publishIssuer(em, tenantId, key.did, organizationName);
    await recordEvent(em, CertificateIssued, { tenantId, aggregateId: cert.id, payload: { certificateId: cert.id, learnerId: cert.learnerId, courseId: cert.courseId, enrollmentId: cert.enrollmentId } });
    return true;
  });
  await job.updateProgress(100);
  if (!issued) return 'nothing to do';
  log.info({ certificateId: cert.id, learnerId: cert.learnerId, courseId: cert.courseId, pdfBytes: pdf.byteLength }, 'certificate issued');
  return 'issued';
}

/** The PDF; input it cannot print (an empty name, a broken logo) fails the job at once: a retry would fail the same way. */
async function renderPdf(...args: Parameters<typeof renderCertificatePdf>): Promise<Uint8Array> {
  try {
    return await renderCertificatePdf(...args);
  } catch (err) {
    if (err instanceof CertificateInputError) throw new UnrecoverableError(err.message);
    throw err;
  }
}

/** Signs the certificate's credential and stores it unless one is stored already (then that one is kept). */
async function storeCredential(
  deps: IssueDeps,
  uow: UnitOfWork,
  cert: CertificateView,
  key: IssuerKey,
  facts: { organizationName: string; email: string; title: string; description: string },
): Promise<CertificateView> {
  const credential = await signCredential(
    buildAchievementCredential({
      credentialId: cert.id,
      name: facts.title,
      issuer: { did: key.did, name: facts.organizationName },
      achievement: {
        id: `urn:uuid:${cert.courseId}`,
        name: facts.title,
        description: facts.description.trim() || `Completion of the course "${facts.title}" at ${facts.organizationName}.`,
        criteria: `Completed every required lesson of "${facts.title}" on ${facts.organizationName}'s Lectern.`,
      },
      subject: { email: facts.email, salt: randomBytes(16).toString('hex') },
      awardedAt: cert.issuedAt,
      validUntil: cert.validUntil,
      status: { listCredentialUrl: deps.urls.statusList(cert.statusListId), index: cert.statusListIndex },
    }),
    key,
    { now: cert.issuedAt },
  );
  const rows = await uow.write((em) =>
    em.execute<Record<string, unknown>[]>(
      `update certificates set credential = coalesce(credential, ?::jsonb), updated_at = now() where tenant_id = ? and id = ? returning *`,
      [JSON.stringify(credential), uow.tenantId, cert.id],
    ),
  );
  if (!rows[0]) throw new Error('the certificate disappeared');
  return certificateRow(rows[0]);
}

/** Re-enqueues certificates whose job Redis lost or never got (pending_certificates older than `graceMs`). */
export function certificationSweep(deps: { orm: MikroORM; log: Logger; generate: Generate; graceMs: number }): Periodic {
  return periodic('certification sweep', deps.log, async (stopping) => {
    const rows = await deps.orm.em.fork().execute<{ certificate_id: string; organization_id: string }[]>(
      `select certificate_id, organization_id from pending_certificates where since < clock_timestamp() - make_interval(secs => ?::numeric / 1000) order by since limit ?`,
      [deps.graceMs, SWEEP_LIMIT],
    );
    let n = 0;
    for (const r of rows) {
      if (stopping()) break;
      await deps.generate(r.organization_id, r.certificate_id);
      n++;
    }
    return n;
  });
}
