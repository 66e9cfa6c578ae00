// Rows of certification's raw SQL as the values resolvers and services work with: parsed once,
// at the edge (timestamps to Dates, bigints to numbers, jsonb to objects).
import type { Connection } from '@lectern/kernel';
import { optionalTimestamp, timestamp } from '@lectern/kernel/rows';

type Row = Record<string, unknown>;
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export type StoredStatus = 'PENDING' | 'ISSUED' | 'FAILED';

export interface CertificateView {
  id: string;
  tenantId: string;
  seq: number;
  enrollmentId: string;
  learnerId: string;
  courseId: string;
  courseVersionId: string;
  status: StoredStatus;
  issuedAt: Date;
  validUntil: Date | null;
  statusListId: string;
  statusListIndex: number;
  /** The signed credential (once signed). */
  credential: Record<string, unknown> | null;
  pdfKey: string | null;
  pdfBytes: number | null;
  attempts: number;
  failureReason: string | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  revocationReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}
export type CertificateConnection = Connection<CertificateView>;

export function certificateRow(r: Row): CertificateView {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    seq: Number(r.seq),
    enrollmentId: String(r.enrollment_id),
    learnerId: String(r.learner_id),
    courseId: String(r.course_id),
    courseVersionId: String(r.course_version_id),
    status: String(r.status) as StoredStatus,
    issuedAt: timestamp(r.issued_at),
    validUntil: optionalTimestamp(r.valid_until),
    statusListId: String(r.status_list_id),
    statusListIndex: Number(r.status_list_index),
    credential: r.credential == null ? null : json<Record<string, unknown>>(r.credential),
    pdfKey: r.pdf_key == null ? null : String(r.pdf_key),
    pdfBytes: r.pdf_bytes == null ? null : Number(r.pdf_bytes),
    attempts: Number(r.attempts),
    failureReason: r.failure_reason == null ? null : String(r.failure_reason),
    revokedAt: optionalTimestamp(r.revoked_at),
    revokedBy: r.revoked_by == null ? null : String(r.revoked_by),
    revocationReason: r.revocation_reason == null ? null : String(r.revocation_reason),
    createdAt: timestamp(r.created_at),
    updatedAt: timestamp(r.updated_at),
  };
}

/** The status the API shows: REVOKED and EXPIRED are read from the row and the clock. */
export function certificateStatus(c: CertificateView, now = Date.now()): 'PENDING' | 'ISSUED' | 'FAILED' | 'REVOKED' | 'EXPIRED' {
  if (c.status !== 'ISSUED') return c.status;
  if (c.revokedAt) return 'REVOKED';
  if (c.validUntil && c.validUntil.getTime() <= now) return 'EXPIRED';
  return 'ISSUED';
}

/** Another context's object by id (a federation reference). */
export interface EntityRef {
  id: string;
}

export interface RuleView {
  tenantId: string;
  courseId: string;
  enabled: boolean;
  minimumQuizGrade: number | null;
  validForDays: number | null;
  updatedBy: string | null;
  updatedAt: Date;
}

export function ruleRow(r: Row): RuleView {
  return {
    tenantId: String(r.tenant_id),
    courseId: String(r.course_id),
    enabled: Boolean(r.enabled),
    minimumQuizGrade: r.minimum_quiz_grade == null ? null : Number(r.minimum_quiz_grade),
    validForDays: r.valid_for_days == null ? null : Number(r.valid_for_days),
    updatedBy: r.updated_by == null ? null : String(r.updated_by),
    updatedAt: timestamp(r.updated_at),
  };
}
