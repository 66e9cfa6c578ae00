// Who may do what in notifications. Everyone signed in to an organization has an inbox and
// preferences of their own; the operator view is for ORG_ADMIN (their organization) and
// SUPER_ADMIN. API keys have no inbox (there is no person behind them).
import { authorize, forbidden, type Actor } from '@lectern/kernel';

export type UserActor = Actor & { tenantId: string; userId: string };

/** Throws UNAUTHENTICATED / FORBIDDEN unless the caller is a person signed in to an organization. */
export function requireUser(actor: Actor): asserts actor is UserActor {
  authorize(actor, {});
  if (actor.kind !== 'user' || !actor.userId) throw forbidden('Only people have notifications; API keys cannot read or change them');
}

/** ORG_ADMIN of the current organization, or a SUPER_ADMIN (with or without one selected). */
export function requireOperator(actor: Actor): void {
  if (actor.superAdmin && actor.kind === 'user') return;
  authorize(actor, { roles: ['ORG_ADMIN'] });
}

