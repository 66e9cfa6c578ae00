// Every change an organization makes to certification: a course's rule, revoking a certificate,
// retrying a failed one, the logo on its PDFs. Each mutation is idempotent (kernel
// idempotentWrite: one transaction per key), authorized first; expected outcomes are
// CertificationErrors in the payload.
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, idempotentWrite, inputId, notFound, type Actor, type Logger, type UnitOfWork } from '@lectern/kernel';
import { recordEvent } from '@lectern/kernel/outbox';
import { CertificateRevoked } from '@lectern/contracts/certification';
import { requireAdmin, type Member } from '../../access.ts';
import { certificationError, type MutationResult } from '../../errors.ts';
import type { CertificationLoaders } from '../../loaders.ts';
import { certificateRow, type CertificateView } from '../../views.ts';
import type { IssuerKey } from '../credential/keys.ts';
import type { Directory } from '../people/directory.ts';
import { setStatusEntry } from '../status/status-lists.ts';
import { evaluateCompletion, type EvaluateDeps } from '../issuance/evaluate.ts';

/** The largest logo accepted (bytes, decoded). */
export const MAX_LOGO_BYTES = 256 * 1024;
/** Past completions one rule change evaluates, oldest first, in its transaction (a repeat takes the next ones). */
export const PAST_COMPLETIONS_LIMIT = 1000;

export interface CertificateServiceDeps {
  actor: Actor;
  uow: UnitOfWork;
  loaders: CertificationLoaders;
  directory: Pick<Directory, 'existingCourses'>;
  /** The organization's issuer key (status lists are re-signed with it). */
  issuer(em: EntityManager, tenantId: string): Promise<IssuerKey>;
  evaluate: EvaluateDeps;
  origin(): string;
  log: Logger;
}

type Idem = { idempotencyKey: string };

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const starts = (b: Buffer, magic: number[]) => magic.every((x, i) => b[i] === x);

export class CertificateService {
  readonly #d: CertificateServiceDeps;
  constructor(deps: CertificateServiceDeps) {
    this.#d = deps;
  }

  #write(actor: Member, mutation: string, input: Idem & Record<string, unknown>, fn: (em: EntityManager, tenantId: string) => Promise<MutationResult>): Promise<MutationResult> {
    return idempotentWrite(this.#d.uow, actor, mutation, input, (em) => fn(em, actor.tenantId)).finally(() => {
      this.#d.loaders.certificate.clearAll();
      this.#d.loaders.rule.clearAll();
    });
  }

  async #locked(em: EntityManager, tenantId: string, certificateId: string): Promise<CertificateView> {
    const [row] = await em.execute<Record<string, unknown>[]>(`select * from certificates where tenant_id = ? and id = ? for update`, [tenantId, certificateId]);
    if (!row) throw notFound('Certificate');
    return certificateRow(row);
  }

  /**
   * Sets a course's rule. `includePastCompletions`: completions recorded before (that have no
   * certificate) are evaluated now, in this transaction, so their certificates are generated too.
   */
  async setCertificateRule(
    input: Idem & { courseId: string; enabled: boolean; minimumQuizGrade?: number | null; validForDays?: number | null; includePastCompletions?: boolean | null },
  ): Promise<MutationResult> {
    const { actor } = this.#d;
    requireAdmin(actor);
    const courseId = inputId(input.courseId, 'Course', 'courseId');
    const minimum = input.minimumQuizGrade ?? null;
    if (minimum !== null && !(Number.isFinite(minimum) && minimum >= 0 && minimum <= 1)) throw badInput('minimumQuizGrade must be a fraction from 0 to 1 (0.8 is 80 %)', 'minimumQuizGrade');
    const days = input.validForDays ?? null;
    if (days !== null && !(Number.isInteger(days) && days >= 1 && days <= 36500)) throw badInput('validForDays must be a whole number of days from 1 to 36500 (or null: never expires)', 'validForDays');
    // Outside the transaction: catalog answers whether the course is the organization's.
    const known = await this.#d.directory.existingCourses(actor.tenantId, [courseId]);
    if (!known.has(courseId)) throw notFound('Course');
    const normalized = { ...input, courseId, minimumQuizGrade: minimum, validForDays: days, includePastCompletions: input.includePastCompletions ?? false };
    return this.#write(actor, 'setCertificateRule', normalized, async (em, tenantId) => {
      await em.execute(
        `insert into certificate_rules (tenant_id, course_id, enabled, minimum_quiz_grade, valid_for_days, updated_by) values (?, ?, ?, ?, ?, ?)
         on conflict (tenant_id, course_id) do update set enabled = excluded.enabled, minimum_quiz_grade = excluded.minimum_quiz_grade,
           valid_for_days = excluded.valid_for_days, updated_by = excluded.updated_by, updated_at = now()`,
        [tenantId, courseId, input.enabled, minimum, days, actor.kind === 'user' ? actor.userId : null],
      );
      let issued = 0;
      if (input.enabled && normalized.includePastCompletions) {
        const past = await em.execute<{ enrollment_id: string }[]>(
          `select c.enrollment_id from completions c where c.tenant_id = ? and c.course_id = ?
              and not exists (select 1 from certificates x where x.tenant_id = c.tenant_id and x.enrollment_id = c.enrollment_id)
            order by c.completed_at limit ?`,
          [tenantId, courseId, PAST_COMPLETIONS_LIMIT],
        );
        for (const p of past) if (await evaluateCompletion(em, this.#d.evaluate, tenantId, p.enrollment_id)) issued++;
      }
      this.#d.log.info({ courseId, enabled: input.enabled, minimumQuizGrade: minimum, validForDays: days, pastCompletionsCertified: issued }, 'certificate rule set');
      return { courseId, errors: [] };
    });
  }

  /** Revokes an issued certificate: kept on the row with its reason, and set in the status list (re-signed). */
  revokeCertificate(input: Idem & { certificateId: string; reason: string }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireAdmin(actor);
    const certificateId = inputId(input.certificateId, 'Certificate', 'certificateId');
    const reason = input.reason.trim();
    if (reason.length < 1 || reason.length > 500) throw badInput('reason must be 1 to 500 characters', 'reason');
    return this.#write(actor, 'revokeCertificate', { ...input, reason }, async (em, tenantId) => {
      const c = await this.#locked(em, tenantId, certificateId);
      if (c.revokedAt) return { certificateId, errors: [certificationError('ALREADY_REVOKED', `The certificate was revoked on ${c.revokedAt.toISOString()}`, 'certificateId')] };
      if (c.status !== 'ISSUED') return { certificateId, errors: [certificationError('NOT_ISSUED', `The certificate is ${c.status}: only an issued certificate can be revoked`, 'certificateId')] };
      const key = await this.#d.issuer(em, tenantId);
      await setStatusEntry(em, tenantId, { listId: c.statusListId, index: c.statusListIndex }, true, key, this.#d.origin());
      const by = actor.kind === 'user' ? actor.userId : null;
      await em.execute(`update certificates set revoked_at = now(), revoked_by = ?, revocation_reason = ?, updated_at = now() where tenant_id = ? and id = ?`, [by, reason, tenantId, certificateId]);
      await recordEvent(em, CertificateRevoked, { tenantId, aggregateId: certificateId, payload: { certificateId, learnerId: c.learnerId, courseId: c.courseId, revokedBy: by } });
      this.#d.log.info({ certificateId, reason }, 'certificate revoked');
      return { certificateId, errors: [] };
    });
  }

  /** Gives a FAILED certificate back to the worker (after what failed was fixed: the learner's membership, a service). */
  async retryCertificate(input: Idem & { certificateId: string }, retry: (tenantId: string, certificateId: string) => Promise<void>): Promise<MutationResult> {
    const { actor } = this.#d;
    requireAdmin(actor);
    const certificateId = inputId(input.certificateId, 'Certificate', 'certificateId');
    const r = await this.#write(actor, 'retryCertificate', input, async (em, tenantId) => {
      const c = await this.#locked(em, tenantId, certificateId);
      if (c.status !== 'FAILED') return { certificateId, errors: [certificationError('NOT_FAILED', `The certificate is ${c.status}: only a failed certificate can be retried`, 'certificateId')] };
      await em.execute(`update certificates set status = 'PENDING', attempts = 0, failure_reason = null, updated_at = now() where tenant_id = ? and id = ?`, [tenantId, certificateId]);
      await em.execute(`insert into pending_certificates (certificate_id, organization_id) values (?, ?) on conflict do nothing`, [certificateId, tenantId]);
      return { certificateId, errors: [] };
    });
    if (!r.errors.length) await retry(actor.tenantId, certificateId);
    return r;
  }

  /** The logo on the organization's certificates (PNG or JPEG, base64; null removes it). Certificates issued later show it. */
  setCertificateBranding(input: Idem & { logo?: string | null }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireAdmin(actor);
    let logo: { bytes: Buffer; type: 'png' | 'jpeg' } | null = null;
    if (input.logo != null) {
      const text = input.logo.replace(/^data:image\/(png|jpeg);base64,/, '').replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length === 0) throw badInput('logo must be a PNG or JPEG file in base64', 'logo');
      if (text.length > Math.ceil((MAX_LOGO_BYTES * 4) / 3) + 4) throw badInput(`logo must be at most ${MAX_LOGO_BYTES / 1024} KiB`, 'logo');
      const bytes = Buffer.from(text, 'base64');
      if (bytes.length > MAX_LOGO_BYTES) throw badInput(`logo must be at most ${MAX_LOGO_BYTES / 1024} KiB`, 'logo');
      const type = starts(bytes, PNG) ? 'png' : starts(bytes, JPEG) ? 'jpeg' : null;
      if (!type) return Promise.resolve({ errors: [certificationError('INVALID_LOGO', 'The logo is neither a PNG nor a JPEG file (read from its first bytes)', 'logo')] });
      logo = { bytes, type };
    }
    return this.#write(actor, 'setCertificateBranding', { idempotencyKey: input.idempotencyKey, logo: input.logo ?? null }, async (em, tenantId) => {
      await em.execute(
        `insert into branding (tenant_id, logo, logo_type, updated_by) values (?, ?, ?, ?)
         on conflict (tenant_id) do update set logo = excluded.logo, logo_type = excluded.logo_type, updated_by = excluded.updated_by, updated_at = now()`,
        [tenantId, logo?.bytes ?? null, logo?.type ?? null, actor.kind === 'user' ? actor.userId : null],
      );
      return { errors: [] };
    });
  }
}
