// Authorization primitives shared by subgraphs. Users act through their roles in the
// current organization; API keys through their scopes. Business rules stay in services.
import type { Actor, Role } from './actor.ts';
import { forbidden, unauthenticated } from './errors.ts';

export interface Requirement {
  /** Any of these roles suffices for a user. */
  roles?: Role[];
  /** The scope an API key needs for the same action (API keys never match `roles`). */
  scope?: string;
}

/** Throws UNAUTHENTICATED for anonymous callers and FORBIDDEN when neither role nor scope matches. */
export function authorize(actor: Actor, req: Requirement): asserts actor is Actor & { tenantId: string } {
  if (actor.kind === 'anonymous' || !actor.tenantId) {
    if (actor.superAdmin && actor.tenantId === null) throw forbidden('Select an organization first');
    throw unauthenticated();
  }
  if (actor.superAdmin) return;
  if (actor.kind === 'api_key') {
    if (!req.scope && !req.roles) return;
    if (req.scope && actor.scopes.includes(req.scope)) return;
    throw forbidden(req.scope ? `This API key lacks the ${req.scope} scope` : 'API keys cannot do this');
  }
  if (!req.roles || actor.roles.some((r) => req.roles!.includes(r))) return;
  throw forbidden();
}

/** The caller must be signed in to an organization (any role). */
export function requireMember(actor: Actor): asserts actor is Actor & { tenantId: string } {
  authorize(actor, {});
}
