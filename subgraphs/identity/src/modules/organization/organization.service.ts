import { authorize, forbidden, idempotentWrite, unauthenticated, type Actor, type UnitOfWork, badInput } from '@lectern/kernel';
import { Organization } from './organization.entity.ts';
import { identityError, type IdentityError } from '../../errors.ts';

const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

export class OrganizationService {
  /** Platform operators create organizations; their first admin is then invited. */
  async create(uow: UnitOfWork, actor: Actor, input: { slug: string; name: string; idempotencyKey: string }) {
    if (actor.kind === 'anonymous') throw unauthenticated();
    if (!actor.superAdmin) throw forbidden('Only platform operators can create organizations');
    const slug = input.slug.trim().toLowerCase();
    if (!SLUG.test(slug)) throw badInput('slug must be 2-63 lowercase letters, digits or dashes', 'slug');
    const name = input.name.trim();
    if (!name || name.length > 200) throw badInput('name must be 1-200 characters', 'name');
    return idempotentWrite(uow, actor, 'createOrganization', { idempotencyKey: input.idempotencyKey, slug, name }, async (em) => {
      if (await em.findOne(Organization, { slug })) {
        return { organizationId: null, errors: [identityError('SLUG_TAKEN', 'An organization with this slug exists', 'slug')] };
      }
      const org = em.create(Organization, { slug, name });
      await em.flush();
      return { organizationId: org.id as string | null, errors: [] as IdentityError[] };
    });
  }

  /** ORG_ADMIN: whether the organization's people may send only trusted documents (the gateway asks GATEWAY_POLICY_PATH). */
  async setTrustedDocumentsRequired(uow: UnitOfWork, actor: Actor, input: { required: boolean; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const tenantId = actor.tenantId;
    return idempotentWrite(uow, actor, 'setTrustedDocumentsRequired', input, async (em) => {
      const org = await em.findOneOrFail(Organization, { id: tenantId });
      org.requireTrustedDocuments = input.required;
      await em.flush();
      return { organizationId: org.id, errors: [] as IdentityError[] };
    });
  }
}
