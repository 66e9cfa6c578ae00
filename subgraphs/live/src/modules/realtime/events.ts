// What live publishes for a session, after the commit that made it: one JSON object per event,
// carrying what the subscription resolvers need (ids, the message's fields) so an event resolves
// without reading the database, except for the `session` a client may select. Each event goes
// to the session's channel (`session:<uuid>`: sessionEvents streams everything) and to its
// kind's (`session:<uuid>:ChatMessagePosted`…: chatMessageAdded, presenceChanged and handRaised
// each hear only their kind, so a join storm costs a chat subscriber nothing).
import type { Publish } from '@lectern/kernel/subscriptions';
import type { SessionStatus } from '../session/session.entity.ts';
import type { ChatMessageView } from '../session/session.entity.ts';

export type LiveEvent =
  | { type: 'ChatMessagePosted'; sessionId: string; message: ChatMessageView; at: string }
  | { type: 'ChatMessageEdited'; sessionId: string; message: ChatMessageView; at: string }
  | { type: 'ChatMessageDeleted'; sessionId: string; message: ChatMessageView; by: string; at: string }
  | { type: 'PresenceChanged'; sessionId: string; userId: string; present: boolean; at: string }
  | { type: 'HandRaised'; sessionId: string; userId: string; position: number; raisedAt: string; at: string }
  | { type: 'HandLowered'; sessionId: string; userId: string; by: string; at: string }
  | { type: 'SessionStatusChanged'; sessionId: string; status: SessionStatus; at: string }
  | { type: 'ParticipantMuted'; sessionId: string; userId: string; until: string | null; by: string; at: string };

export const LIVE_EVENT_TYPES = ['ChatMessagePosted', 'ChatMessageEdited', 'ChatMessageDeleted', 'PresenceChanged', 'HandRaised', 'HandLowered', 'SessionStatusChanged', 'ParticipantMuted'] as const;

/** The channel of a session (the kernel adds subgraph and tenant). */
export const sessionChannel = (sessionId: string) => `session:${sessionId}`;
/** The channel of one kind of a session's events. */
export const kindChannel = (sessionId: string, type: LiveEvent['type']) => `session:${sessionId}:${type}`;

export interface Publisher {
  /** Publishes `event` on its session's channel of `tenantId`; failures are logged, never thrown (the change is committed). */
  publish(tenantId: string, event: LiveEvent): Promise<void>;
}

/** The kernel's publish (SubgraphDeps.publish: `${REDIS_PREFIX}sub:live:<tenant>:<channel>`), with failures logged. */
export function createPublisher(publish: Publish, log: { warn(obj: object, msg: string): void }): Publisher {
  return {
    async publish(tenantId, event) {
      try {
        await Promise.all([publish(tenantId, sessionChannel(event.sessionId), event), publish(tenantId, kindChannel(event.sessionId, event.type), event)]);
      } catch (err) {
        log.warn({ err, event: event.type, sessionId: event.sessionId }, 'could not publish a live event');
      }
    },
  };
}

type Of<T extends LiveEvent['type']> = Extract<LiveEvent, { type: T }>;
/** Mapped GraphQL types of the event stream (codegen mappers). */
export type ChatMessagePostedEvent = Of<'ChatMessagePosted'>;
export type ChatMessageEditedEvent = Of<'ChatMessageEdited'>;
export type ChatMessageDeletedEvent = Of<'ChatMessageDeleted'>;
export type PresenceChangedEvent = Of<'PresenceChanged'>;
export type HandRaisedEvent = Of<'HandRaised'>;
export type HandLoweredEvent = Of<'HandLowered'>;
export type SessionStatusChangedEvent = Of<'SessionStatusChanged'>;
export type ParticipantMutedEvent = Of<'ParticipantMuted'>;
