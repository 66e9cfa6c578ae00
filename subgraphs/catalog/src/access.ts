// Who may read and who may author in the catalog. Authors (ORG_ADMIN, INSTRUCTOR, API keys
// with catalog:write) see drafts; every other member (LEARNER, SUPPORT_READONLY, API keys
// with catalog:read) sees published content only.
import { authorize, isAuthor, type Actor } from '@lectern/kernel';

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

/** Whether the caller sees drafts (authors) or published content only. */
export const seesDrafts = (actor: Actor) => isAuthor(actor);

/**
 * An INSTRUCTOR edits only the courses they author; ORG_ADMIN, platform operators and API
 * keys with catalog:write edit every course of the organization.
 */
export function editsEveryCourse(actor: Actor): boolean {
  return actor.superAdmin || actor.roles.includes('ORG_ADMIN') || (actor.kind === 'api_key' && actor.scopes.includes('catalog:write'));
}

/** Who the caller is for idempotency scopes: the user, or the API key. */
export function principalOf(actor: Actor): string {
  return actor.apiKeyId ?? actor.userId ?? actor.kind;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids that are not UUIDs name nothing; checking first keeps malformed ids away from SQL. */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);
