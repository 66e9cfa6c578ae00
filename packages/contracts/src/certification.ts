// certification's published contract: its name (queues events-certification,
// jobs-certification) and the events it emits through its outbox. What it consumes is declared
// in subscriptions.ts (learning's CourseCompleted, assessment's QuizPassed / QuizFailed).
// Payloads carry ids only, never names or emails.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

export const CERTIFICATION = 'certification';

const id = z.string().uuid();

/** A certificate was issued: its signed credential and PDF are stored. Aggregate: the certificate. */
export const CertificateIssued = defineEvent({
  type: 'certification.CertificateIssued',
  version: 1,
  aggregate: 'certificate',
  payload: z.strictObject({
    certificateId: id,
    learnerId: id,
    courseId: id,
    enrollmentId: id,
  }),
});

/** An organization revoked a certificate (its status list now says so). */
export const CertificateRevoked = defineEvent({
  type: 'certification.CertificateRevoked',
  version: 1,
  aggregate: 'certificate',
  payload: z.strictObject({
    certificateId: id,
    learnerId: id,
    courseId: id,
    /** Who revoked it (an ORG_ADMIN), or null for an API key. */
    revokedBy: id.nullable(),
  }),
});

export const CERTIFICATION_EVENTS = [CertificateIssued, CertificateRevoked] as const;
