// The event types of a session's stream, resolved from the published JSON (rootValue of each
// event): ids become entity references, the message its view; only `session` reads the
// database (one batched load per event).
import { entityRef } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import type { LiveEvent } from './events.ts';

const session = async (e: { sessionId: string }, _: unknown, ctx: Context) => (await ctx.reads.byUuid(e.sessionId))!;

export const eventResolvers = {
  SessionEvent: {
    __resolveType: (e: LiveEvent) => e.type,
  },
  ChatMessagePosted: { session },
  ChatMessageEdited: { session },
  ChatMessageDeleted: { session, deletedBy: (e: { by: string }) => entityRef('User', e.by) },
  PresenceChanged: { session, participant: (e: { userId: string }) => entityRef('User', e.userId) },
  PresenceChange: { session, participant: (e: { userId: string }) => entityRef('User', e.userId) },
  HandRaised: { session, hand: (e: { sessionId: string; userId: string; position: number; raisedAt: string }) => ({ sessionId: e.sessionId, userId: e.userId, position: e.position, raisedAt: e.raisedAt }) },
  HandLowered: { session, user: (e: { userId: string }) => entityRef('User', e.userId), loweredBy: (e: { by: string }) => entityRef('User', e.by) },
  SessionStatusChanged: { session },
  ParticipantMuted: { session, participant: (e: { userId: string }) => entityRef('User', e.userId), mutedUntil: (e: { until: string | null }) => e.until, mutedBy: (e: { by: string }) => entityRef('User', e.by) },
} satisfies Resolvers;
