// Who may do what in live. A session is visible (and joinable) to the active learners of its
// cohorts (all the offering's cohorts unless the session names some), to their instructors and
// to ORG_ADMIN (and platform operators; API keys with live:write manage sessions but never
// chat). Everyone else, another organization's members included, is told the session does not
// exist: NOT_FOUND, exactly as for a missing one. Instructors (and ORG_ADMIN) schedule, start,
// end and moderate. Who teaches and who is enrolled comes from the roster projection
// (modules/roster), fed by enrollment's events.
import { authorize, forbidden, type Actor } from '@lectern/kernel';

/** How the caller may use one session: run it (instructors, ORG_ADMIN), attend it (its learners), or nothing (NOT_FOUND). */
export type SessionAccess = 'MANAGE' | 'ATTEND' | null;

export type Member = Actor & { tenantId: string };
export type Person = Member & { userId: string };

/** ORG_ADMIN, platform operators and API keys with live:write run every session of the organization. */
export function managesAll(actor: Actor): boolean {
  return actor.superAdmin || actor.roles.includes('ORG_ADMIN') || (actor.kind === 'api_key' && actor.scopes.includes('live:write'));
}

/** The caller belongs to an organization (any role; API keys need a live scope). */
export function requireMember(actor: Actor): asserts actor is Member {
  if (actor.kind === 'api_key' && actor.scopes.includes('live:write')) return authorize(actor, { scope: 'live:write' });
  authorize(actor, { scope: 'live:read' });
}

/** A signed-in person of an organization: chat, hands and presence are personal. */
export function requirePerson(actor: Actor): asserts actor is Person {
  authorize(actor, {});
  if (actor.kind !== 'user' || !actor.userId) throw forbidden('Only a signed-in person can do this');
}

/** The role a participant attends with (AttendanceRecorded.attendees[].role). */
export function attendeeRole(args: { learner: boolean; admin: boolean }): 'LEARNER' | 'INSTRUCTOR' | 'ORG_ADMIN' {
  if (args.learner) return 'LEARNER';
  return args.admin ? 'ORG_ADMIN' : 'INSTRUCTOR';
}
