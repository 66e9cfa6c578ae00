// live's published contract: its name (queue events-live) and the events it emits through its
// outbox. What it consumes is declared in subscriptions.ts.
// Payloads carry ids and non-personal facts only.
import { z } from 'zod';
import { defineEvent } from '@lectern/kernel/events';

export const LIVE = 'live';

const id = z.string().uuid();

/**
 * A session ended; how long each participant attended it. Sent once per session, when an
 * instructor (or ORG_ADMIN) ends it. Aggregate: the session. `percent` is attendedSeconds over
 * the session's length (startedAt → endedAt), 0..100, rounded down; intervals are merged, so a
 * participant connected twice at once counts once.
 */
export const AttendanceRecorded = defineEvent({
  type: 'live.AttendanceRecorded',
  version: 1,
  aggregate: 'session',
  payload: z.strictObject({
    sessionId: id,
    offeringId: id,
    startedAt: z.iso.datetime({ offset: true }),
    endedAt: z.iso.datetime({ offset: true }),
    durationSeconds: z.number().int().min(0),
    attendees: z.array(
      z.strictObject({
        userId: id,
        /** LEARNER when the participant was enrolled in a cohort of the offering, else INSTRUCTOR or ORG_ADMIN. */
        role: z.enum(['LEARNER', 'INSTRUCTOR', 'ORG_ADMIN']),
        attendedSeconds: z.number().int().min(0),
        percent: z.number().int().min(0).max(100),
      }),
    ),
  }),
});

export const LIVE_EVENTS = [AttendanceRecorded] as const;
