// Who may see what in identity, beyond what the services authorize: member emails.
import { hasRole } from '@lectern/kernel';
import type { Context } from './context.ts';

/** ORG_ADMIN, SUPPORT_READONLY and API keys with members:read see every member's email. */
export const canSeeEmails = (ctx: Context) =>
  hasRole(ctx.actor, 'ORG_ADMIN', 'SUPPORT_READONLY') || (ctx.actor.kind === 'api_key' && ctx.actor.scopes.includes('members:read'));
