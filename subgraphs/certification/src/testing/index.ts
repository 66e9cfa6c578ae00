// Test and demo helpers other packages may import: a certificate of a completion, made by the
// real evaluation (rule, completion, status list entry) without the worker: it stays PENDING
// unless a certification worker (with identity and catalog) runs to issue it.
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant } from '@lectern/kernel';
import { DEV_CERTIFICATION_SECRET } from '../env.ts';
import { evaluateCompletion } from '../modules/issuance/evaluate.ts';
import { ensureIssuer } from '../modules/issuer/issuer.ts';

export interface CertificateSeed {
  tenantId: string;
  learnerId: string;
  courseId: string;
  /** The completed version (catalog's); a new id by default. */
  courseVersionId?: string;
  title?: string;
  /** The public origin status list URLs start with. */
  origin?: string;
}

/** Enables the course's rule, records a completion and evaluates it: returns the new certificate's id. */
export async function seedCertificate(orm: MikroORM, seed: CertificateSeed): Promise<string> {
  const versionId = seed.courseVersionId ?? randomUUID();
  const title = seed.title ?? 'Seeded course';
  return inTenant(orm, seed.tenantId, (uow) =>
    uow.write(async (em) => {
      await em.execute(`insert into certificate_rules (tenant_id, course_id, enabled) values (?, ?, true) on conflict (tenant_id, course_id) do update set enabled = true`, [seed.tenantId, seed.courseId]);
      const enrollmentId = randomUUID();
      await em.execute(`insert into completions (tenant_id, enrollment_id, learner_id, course_id, course_version_id, completed_at) values (?, ?, ?, ?, ?, now())`, [
        seed.tenantId, enrollmentId, seed.learnerId, seed.courseId, versionId,
      ]);
      const id = await evaluateCompletion(
        em,
        {
          directory: { version: async () => ({ versionId, courseId: seed.courseId, title, description: `About ${title}.`, quizIds: [] }) },
          issuer: (tx, tenantId) => ensureIssuer(tx, tenantId, DEV_CERTIFICATION_SECRET),
          origin: () => seed.origin ?? 'http://127.0.0.1:4009',
          generate: async () => {},
        },
        seed.tenantId,
        enrollmentId,
      );
      if (!id) throw new Error('the seeded completion earned no certificate');
      return id;
    }),
  );
}
