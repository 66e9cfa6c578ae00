import { forbidden, idempotentWrite, unauthenticated, type Actor, type UnitOfWork, badInput } from '@lectern/kernel';
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
}
