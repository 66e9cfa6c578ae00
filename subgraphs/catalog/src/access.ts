// Who may read and who may author in the catalog. Authors (ORG_ADMIN, INSTRUCTOR, API keys
// with catalog:write) see drafts; every other member (LEARNER, SUPPORT_READONLY, API keys
// with catalog:read) sees published content only.
import { authorize, type Actor } from '@lectern/kernel';

export const AUTHOR_REQUIREMENT = { roles: ['ORG_ADMIN', 'INSTRUCTOR'], scope: 'catalog:write' } as const satisfies Parameters<typeof authorize>[1];

/** Throws UNAUTHENTICATED / FORBIDDEN unless the caller may read this organization's catalog. */
export function requireReader(actor: Actor): asserts actor is Actor & { tenantId: string } {
  if (actor.kind === 'api_key' && actor.scopes.includes('catalog:write')) {
    authorize(actor, { scope: 'catalog:write' });
    return;
  }
  authorize(actor, { scope: 'catalog:read' });
}

/** Throws unless the caller may author courses in this organization. */
export function requireAuthor(actor: Actor): asserts actor is Actor & { tenantId: string } {
  authorize(actor, { roles: [...AUTHOR_REQUIREMENT.roles], scope: AUTHOR_REQUIREMENT.scope });
}

/** ORG_ADMIN, INSTRUCTOR, platform operators and API keys with catalog:write author courses. */
export const isAuthor = (actor: Actor) =>
  actor.superAdmin || actor.roles.includes('ORG_ADMIN') || actor.roles.includes('INSTRUCTOR') || (actor.kind === 'api_key' && actor.scopes.includes('catalog:write'));

/** Whether the caller sees drafts (authors) or published content only. */
export const seesDrafts = (actor: Actor) => isAuthor(actor);

/**
 * An INSTRUCTOR edits only the courses they author; ORG_ADMIN, platform operators and API
 * keys with catalog:write edit every course of the organization.
 */
export function editsEveryCourse(actor: Actor): boolean {
  return actor.superAdmin || actor.roles.includes('ORG_ADMIN') || (actor.kind === 'api_key' && actor.scopes.includes('catalog:write'));
}
