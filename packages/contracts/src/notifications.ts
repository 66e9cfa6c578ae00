// notifications' published contract: its name (queue events-notifications) and its job
// payloads. What it consumes is declared in subscriptions.ts; it emits no events yet.
import { z } from 'zod';

export const NOTIFICATIONS = 'notifications';

/** Job `send-digests` on queue jobs-notifications: one organization's daily and weekly digests. */
export const SEND_DIGESTS = 'send-digests';
export const sendDigestsPayload = z.strictObject({
  tenantId: z.string().uuid(),
  /** The instant the run acts at (ISO-8601); tests pin it. Default: now. */
  now: z.iso.datetime({ offset: true }).optional(),
});
export type SendDigestsPayload = z.infer<typeof sendDigestsPayload>;
