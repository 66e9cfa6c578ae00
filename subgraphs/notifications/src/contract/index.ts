// What other Lectern code may know of notifications: the events it consumes (so producers'
// workers route them to its queue) and its job payloads. Nothing else is importable.
import { z } from 'zod';

export const NOTIFICATIONS = 'notifications';

/**
 * Event type → consuming contexts, for the producers' relay routes. Each producer's worker
 * merges the entries of the events it emits (identity: the identity.* ones, catalog: the
 * catalog.* ones) into its WorkerDefinition `routes`. Kept as plain type strings so this
 * contract imports no other subgraph; a test checks they match the handlers.
 */
export const subscriptions: Record<string, string[]> = {
  'identity.MemberInvited': [NOTIFICATIONS],
  'identity.MemberAdded': [NOTIFICATIONS],
  'catalog.CoursePublished': [NOTIFICATIONS],
};

/** Job `send-digests` on queue jobs-notifications: one organization's daily and weekly digests. */
export const SEND_DIGESTS = 'send-digests';
export const sendDigestsPayload = z.strictObject({
  tenantId: z.string().uuid(),
  /** The instant the run acts at (ISO-8601); tests pin it. Default: now. */
  now: z.iso.datetime({ offset: true }).optional(),
});
export type SendDigestsPayload = z.infer<typeof sendDigestsPayload>;
