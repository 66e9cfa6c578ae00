// Who may do what with progress. Learners record and read their own; instructors read the
// enrollments of the cohorts they teach (learning's projection of CohortInstructorsChanged);
// ORG_ADMIN (and platform operators) read every enrollment of the organization. Another
// organization's enrollment is never loaded (tenant filter + RLS): it reads as missing.
import { authorize, forbidden, type Actor } from '@lectern/kernel';
import type { Enrollment } from './modules/progress/progress.entity.ts';

/** The caller must be a signed-in user of an organization (progress is personal). */
export function requireLearner(actor: Actor): asserts actor is Actor & { tenantId: string; userId: string } {
  authorize(actor, {});
  if (actor.kind !== 'user' || !actor.userId) throw forbidden('Only a signed-in person records progress');
}

export function requireOrgAdmin(actor: Actor): asserts actor is Actor & { tenantId: string } {
  authorize(actor, { roles: ['ORG_ADMIN'], scope: 'learning:admin' });
}

export const readsEverything = (actor: Actor) => actor.superAdmin || actor.roles.includes('ORG_ADMIN');

/** Whether the caller may see this enrollment's progress; `taught` are the caller's cohorts. */
export function canReadProgress(actor: Actor, enrollment: Enrollment, taught: () => Promise<Set<string>>): Promise<boolean> | boolean {
  if (!actor.tenantId || actor.kind === 'anonymous') return false;
  if (readsEverything(actor)) return true;
  if (actor.userId && enrollment.learnerId === actor.userId) return true;
  if (actor.roles.includes('INSTRUCTOR') && actor.userId) return taught().then((set) => set.has(enrollment.cohortId));
  return false;
}
