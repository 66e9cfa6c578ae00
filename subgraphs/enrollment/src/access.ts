// Who may do what in enrollment. Every member of the organization reads its offerings and
// cohorts; ORG_ADMIN schedules; enrollments are visible to their learner, to the instructors
// of their cohort and to ORG_ADMIN (and API keys with enrollment:read / enrollment:write).
import { authorize, type Actor } from '@lectern/kernel';

export type Member = Actor & { tenantId: string };

/** Throws UNAUTHENTICATED / FORBIDDEN unless the caller may read this organization's offerings. */
export function requireReader(actor: Actor): asserts actor is Member {
  if (actor.kind === 'api_key' && actor.scopes.includes('enrollment:write')) return authorize(actor, { scope: 'enrollment:write' });
  authorize(actor, { scope: 'enrollment:read' });
}

/** Scheduling (offerings, cohorts, instructors, roster imports of any cohort). */
export function requireAdmin(actor: Actor): asserts actor is Member {
  authorize(actor, { roles: ['ORG_ADMIN'], scope: 'enrollment:write' });
}

/** ORG_ADMIN, platform operators and enrollment API keys see and manage every enrollment. */
export function managesAll(actor: Actor): boolean {
  return actor.superAdmin || actor.roles.includes('ORG_ADMIN') || (actor.kind === 'api_key' && (actor.scopes.includes('enrollment:write') || actor.scopes.includes('enrollment:read')));
}

/** Writes as an admin (a read-only key manages nothing). */
export function adminWrites(actor: Actor): boolean {
  return actor.superAdmin || actor.roles.includes('ORG_ADMIN') || (actor.kind === 'api_key' && actor.scopes.includes('enrollment:write'));
}

/** An instructor (or admin) listed on the cohort. */
export function teaches(actor: Actor, cohort: { instructorIds: string[] }): boolean {
  return actor.userId !== null && (actor.roles.includes('INSTRUCTOR') || actor.roles.includes('ORG_ADMIN')) && cohort.instructorIds.includes(actor.userId);
}
