// Certificates as the API shows them (to their learner, ORG_ADMIN and certification API keys),
// course rules (every member), the organization's branding, the public verifier, and the
// mutations.
import { badInput, emptyConnection, entityRef, globalIdOf, idOf, rateLimited, type PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import type { MutationResult } from '../../errors.ts';
import { certificatePage, type CertificateFilter } from '../../loaders.ts';
import { certificateStatus, type CertificateView, type RuleView } from '../../views.ts';
import type { CredentialVerification } from '../credential/verify.ts';
import { MAX_VERIFY_BYTES } from '../verification/verifier.ts';

type Input<T> = { input: T };
type Service = Context['certificates'];

const certificateById = (id: string, ctx: Context) => {
  const uuid = idOf(id, 'Certificate');
  return uuid ? ctx.loaders.certificate.load(uuid) : null;
};

const certificatePayload = async (r: MutationResult, ctx: Context) => ({
  certificate: r.certificateId ? await ctx.loaders.certificate.load(r.certificateId) : null,
  errors: r.errors,
});

async function branding(ctx: Context) {
  const [row] = await ctx.uow.statement<{ logo: Buffer | null; logo_type: string | null; updated_at: Date }>(`select logo, logo_type, updated_at from branding where tenant_id = ?`, [ctx.actor.tenantId]);
  return {
    hasLogo: !!row?.logo,
    logoDataUrl: row?.logo ? `data:image/${row.logo_type};base64,${Buffer.from(row.logo).toString('base64')}` : null,
    updatedAt: row?.updated_at ?? null,
  };
}

/** Exactly one of `credential` / `pdf`. */
async function verify(input: { credential?: string | null; pdf?: string | null }, ctx: Context): Promise<CredentialVerification> {
  const wait = await ctx.verifier.wait(ctx.actor.ip);
  if (wait !== null) throw rateLimited(`Too many verifications from your address: retry in ${wait} s`, wait);
  const given = [input.credential, input.pdf].filter((v) => v != null).length;
  if (given !== 1) throw badInput('give exactly one of credential (JSON text) or pdf (base64)', input.credential != null ? 'pdf' : 'credential');
  if (input.credential != null) return ctx.verifier.verifyJson(input.credential);
  const pdf = input.pdf!.replace(/^data:application\/pdf;base64,/, '');
  if (pdf.length > Math.ceil((MAX_VERIFY_BYTES * 4) / 3) + 4) throw badInput(`pdf must be at most ${MAX_VERIFY_BYTES / 1024 / 1024} MiB`, 'pdf');
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(pdf)) throw badInput('pdf must be the PDF file in base64', 'pdf');
  return ctx.verifier.verifyPdf(new Uint8Array(Buffer.from(pdf, 'base64')));
}

export const certificateResolvers = {
  UserError: { __resolveType: () => 'CertificationError' as const },
  Query: {
    certificate: (_: unknown, a: { id: string }, ctx: Context) => certificateById(a.id, ctx),
    certificates: (_: unknown, a: PageArgs & { filter?: { courseId?: string | null; learnerId?: string | null; status?: CertificateFilter['status'] } | null }, ctx: Context) => {
      if (!ctx.actor.tenantId || ctx.actor.kind === 'anonymous') return emptyConnection<CertificateView>();
      const f = a.filter ?? {};
      const courseId = f.courseId != null ? idOf(f.courseId, 'Course') : null;
      const learnerId = f.learnerId != null ? idOf(f.learnerId, 'User') : null;
      // An id that names nothing of the right type matches nothing.
      if ((f.courseId != null && !courseId) || (f.learnerId != null && !learnerId)) return emptyConnection<CertificateView>();
      return certificatePage(ctx.uow, ctx.actor.tenantId, ctx.viewer, a, { courseId, learnerId, status: f.status ?? null });
    },
    verifyCredential: (_: unknown, { input }: Input<{ credential?: string | null; pdf?: string | null }>, ctx: Context) => verify(input, ctx),
  },
  Mutation: {
    setCertificateRule: async (_: unknown, { input }: Input<Parameters<Service['setCertificateRule']>[0]>, ctx: Context) => {
      const r = await ctx.certificates.setCertificateRule(input);
      return { rule: r.courseId ? await ctx.loaders.rule.load(r.courseId) : null, errors: r.errors };
    },
    revokeCertificate: async (_: unknown, { input }: Input<Parameters<Service['revokeCertificate']>[0]>, ctx: Context) => certificatePayload(await ctx.certificates.revokeCertificate(input), ctx),
    retryCertificate: async (_: unknown, { input }: Input<Parameters<Service['retryCertificate']>[0]>, ctx: Context) =>
      certificatePayload(await ctx.certificates.retryCertificate(input, ctx.retry), ctx),
    setCertificateBranding: async (_: unknown, { input }: Input<Parameters<Service['setCertificateBranding']>[0]>, ctx: Context) => {
      const r = await ctx.certificates.setCertificateBranding(input);
      return { branding: r.errors.length ? null : await branding(ctx), errors: r.errors };
    },
  },
  User: {
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'User') ? { id: ref.id } : null),
    certificates: (u: { id: string }, args: PageArgs, ctx: Context) => {
      const learnerId = idOf(u.id, 'User');
      if (!learnerId || !ctx.actor.tenantId || ctx.actor.kind === 'anonymous') return emptyConnection<CertificateView>();
      return ctx.loaders.learnerCertificates.load({ learnerId, args });
    },
  },
  Course: {
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'Course') ? { id: ref.id } : null),
    certificateRule: (c: { id: string }, _: unknown, ctx: Context) => {
      const courseId = idOf(c.id, 'Course');
      return courseId && ctx.actor.tenantId && ctx.actor.kind !== 'anonymous' ? ctx.loaders.rule.load(courseId) : null;
    },
  },
  Organization: {
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'Organization') ? { id: ref.id } : null),
    certificateBranding: (o: { id: string }, _: unknown, ctx: Context) =>
      ctx.actor.kind !== 'anonymous' && ctx.actor.tenantId && idOf(o.id, 'Organization') === ctx.actor.tenantId ? branding(ctx) : null,
  },
  CertificateRule: {
    course: (r: RuleView) => entityRef('Course', r.courseId),
    updatedBy: (r: RuleView) => (r.updatedBy ? entityRef('User', r.updatedBy) : null),
  },
  Certificate: {
    __resolveReference: (ref: { id: string }, ctx: Context) => certificateById(ref.id, ctx),
    id: globalIdOf('Certificate'),
    learner: (c: CertificateView) => entityRef('User', c.learnerId),
    course: (c: CertificateView) => entityRef('Course', c.courseId),
    status: (c: CertificateView) => certificateStatus(c),
    credential: (c: CertificateView) => (c.credential ? JSON.stringify(c.credential, null, 2) : null),
    pdfUrl: (c: CertificateView, _: unknown, ctx: Context) => (c.status === 'ISSUED' ? ctx.urls.pdf(c.tenantId, c.id).url : null),
    pdfUrlExpiresAt: (c: CertificateView, _: unknown, ctx: Context) => (c.status === 'ISSUED' ? ctx.urls.pdf(c.tenantId, c.id).expiresAt : null),
    verificationUrl: (c: CertificateView, _: unknown, ctx: Context) => ctx.urls.verifyPage(c.tenantId, c.id),
    failureReason: (c: CertificateView) => (c.status === 'FAILED' ? c.failureReason : null),
    revocation: (c: CertificateView) =>
      c.revokedAt ? { revokedAt: c.revokedAt, revokedBy: c.revokedBy ? entityRef('User', c.revokedBy) : null, reason: c.revocationReason ?? '' } : null,
  },
};
