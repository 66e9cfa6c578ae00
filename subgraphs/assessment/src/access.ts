// Who may do what in assessment.
//
// - Question banks and quizzes are authored by the organization's instructors and ORG_ADMIN
//   (API keys with assessment:write); they see every bank, question and quiz of it.
// - A learner sees a quiz once it is published and they hold an active seat in an offering of
//   its course (assessment's roster projection of enrollment's events), and only their own
//   attempts. Anyone else is told the object does not exist: NOT_FOUND / null, exactly as for
//   a missing one.
// - An attempt is graded, overridden and seen in full by the instructors of its learner's
//   cohort (the cohort the attempt's enrollment is in now) and by ORG_ADMIN (API keys with
//   assessment:write; assessment:read sees it all). Statistics follow the same rule: an
//   instructor's cover their cohorts' attempts, ORG_ADMIN's the organization's.
import { authorize, forbidden, type Actor } from '@lectern/kernel';

export type Member = Actor & { tenantId: string };
export type Person = Member & { userId: string };

/** How the caller sees assessment: `all` (every attempt), `author` (banks, quizzes), and who they are. */
export interface Viewer {
  userId: string | null;
  /** Reads every attempt and grade of the organization (ORG_ADMIN, operators, API keys with an assessment scope). */
  all: boolean;
  /** Grades and overrides every attempt (ORG_ADMIN, operators, API keys with assessment:write). */
  gradesAll: boolean;
  /** Authors banks and quizzes, sees them all (instructors too). */
  author: boolean;
}

const hasScope = (actor: Actor, scope: string) => actor.kind === 'api_key' && actor.scopes.includes(scope);

export function viewerOf(actor: Actor): Viewer {
  const admin = actor.superAdmin || actor.roles.includes('ORG_ADMIN');
  const gradesAll = admin || hasScope(actor, 'assessment:write');
  const all = gradesAll || hasScope(actor, 'assessment:read');
  return { userId: actor.kind === 'user' ? actor.userId : null, all, gradesAll, author: all || actor.roles.includes('INSTRUCTOR') };
}

/** The caller belongs to an organization (any role; API keys need an assessment scope). */
export function requireMember(actor: Actor): asserts actor is Member {
  if (hasScope(actor, 'assessment:write')) return authorize(actor, { scope: 'assessment:write' });
  authorize(actor, { scope: 'assessment:read' });
}

/** Authoring banks, questions and quizzes: instructors, ORG_ADMIN, API keys with assessment:write. */
export function requireAuthor(actor: Actor): asserts actor is Member {
  if (actor.kind === 'api_key') return authorize(actor, { scope: 'assessment:write' });
  authorize(actor, { roles: ['ORG_ADMIN', 'INSTRUCTOR'] });
}

/** A signed-in person: only people take quizzes. */
export function requirePerson(actor: Actor): asserts actor is Person {
  authorize(actor, {});
  if (actor.kind !== 'user' || !actor.userId) throw forbidden('Only a signed-in person can take a quiz');
}

/** Grading (essays, overrides, accommodations): instructors (for their cohorts' learners), ORG_ADMIN, API keys with assessment:write. */
export function requireGrader(actor: Actor): asserts actor is Member {
  if (actor.kind === 'api_key') return authorize(actor, { scope: 'assessment:write' });
  authorize(actor, { roles: ['ORG_ADMIN', 'INSTRUCTOR'] });
}

/**
 * SQL: whether the viewer (parameters: a flag, tenant, user) oversees attempt row `alias`: every
 * attempt when the flag is true, else those whose learner's enrollment is in a cohort they
 * teach (now). Names the tenant (DESIGN rule 2).
 */
export const overseesSql = (alias: string) => `(?::boolean or exists (select 1 from roster_enrollments oe join roster_cohorts oc on oc.tenant_id = oe.tenant_id and oc.cohort_id = oe.cohort_id
    where oe.tenant_id = ? and oe.enrollment_id = ${alias}.enrollment_id and ?::uuid = any(oc.instructor_ids)))`;
