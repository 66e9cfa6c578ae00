// Who may do what in certification.
//
// - A learner sees their own certificates (and may download their PDFs); ORG_ADMIN (and API
//   keys with certification:read) see every certificate of the organization.
// - ORG_ADMIN (and API keys with certification:write) set a course's certificate rule, the
//   organization's logo, revoke certificates and retry failed ones.
// - Every member sees a course's certificate rule (learners want to know a course certifies).
// - Verification is public: anyone, signed in or not, of any organization, may verify a
//   credential or open a certificate's verification page. It reveals what the credential holder
//   chose to show, never a list of anyone's certificates.
// Another organization's certificate is simply not there (null / NOT_FOUND, as a missing one).
import { authorize, type Actor } from '@lectern/kernel';

export type Member = Actor & { tenantId: string };

export interface Viewer {
  userId: string | null;
  /** Sees every certificate of the organization. */
  reader: boolean;
  /** Rules, logo, revocation. */
  admin: boolean;
}

const hasScope = (actor: Actor, scope: string) => actor.kind === 'api_key' && actor.scopes.includes(scope);

export function viewerOf(actor: Actor): Viewer {
  const member = actor.kind !== 'anonymous' && !!actor.tenantId;
  const admin = member && (actor.superAdmin || actor.roles.includes('ORG_ADMIN') || hasScope(actor, 'certification:write'));
  return {
    userId: actor.kind === 'user' && member ? actor.userId : null,
    reader: admin || (member && hasScope(actor, 'certification:read')),
    admin,
  };
}

/** Rules, logo, revocation, retries: ORG_ADMIN, API keys with certification:write. */
export function requireAdmin(actor: Actor): asserts actor is Member {
  if (actor.kind === 'api_key') return authorize(actor, { scope: 'certification:write' });
  authorize(actor, { roles: ['ORG_ADMIN'] });
}
