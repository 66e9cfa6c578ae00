// Session (one live class within an offering), its chat messages and its moderation record.
// Relations are id columns: every lookup goes through a per-request DataLoader. `seq` is the
// database's arrival order (cursors); the ORM never writes it.
import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter, type Connection } from '@lectern/kernel';

export const SESSION_STATUSES = ['SCHEDULED', 'LIVE', 'ENDED'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    offeringId: p.uuid(),
    /** Only these cohorts of the offering may join; null: every cohort. */
    cohortIds: p.array().$type<string[]>().nullable(),
    title: p.string(),
    startsAt: p.datetime(),
    endsAt: p.datetime(),
    joinUrl: p.string(),
    status: p.string().$type<SessionStatus>(),
    startedAt: p.datetime().nullable(),
    endedAt: p.datetime().nullable(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class Session extends SessionSchema.class {}
SessionSchema.setClass(Session);

export const ChatMessageSchema = defineEntity({
  name: 'ChatMessage',
  tableName: 'chat_messages',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    sessionId: p.uuid(),
    authorId: p.uuid(),
    body: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
    editedAt: p.datetime().nullable(),
    deletedAt: p.datetime().nullable(),
    deletedBy: p.uuid().nullable(),
  },
});
export class ChatMessage extends ChatMessageSchema.class {}
ChatMessageSchema.setClass(ChatMessage);

export const MODERATION_ACTIONS = ['DELETE_MESSAGE', 'MUTE', 'UNMUTE', 'LOWER_HAND'] as const;
export type ModerationActionKind = (typeof MODERATION_ACTIONS)[number];

/** One moderation action: append-only. */
export const ModerationActionSchema = defineEntity({
  name: 'ModerationAction',
  tableName: 'moderation_actions',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    sessionId: p.uuid(),
    actorId: p.uuid(),
    action: p.string().$type<ModerationActionKind>(),
    targetUserId: p.uuid(),
    messageId: p.uuid().nullable(),
    reason: p.string().nullable(),
    mutedUntil: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class ModerationAction extends ModerationActionSchema.class {}
ModerationActionSchema.setClass(ModerationAction);

/**
 * A chat message as resolvers see it: a loaded row, or the copy a subscription event carries
 * (the same fields, dates as ISO strings).
 */
export interface ChatMessageView {
  id: string;
  sessionId: string;
  authorId: string;
  body: string;
  createdAt: Date | string;
  editedAt: Date | string | null;
  deletedAt: Date | string | null;
  deletedBy: string | null;
}

/** The fields of a message a subscription event carries (JSON). */
export function messageView(m: ChatMessageView): ChatMessageView {
  const iso = (d: Date | string | null) => (d == null ? null : new Date(d).toISOString());
  return { id: m.id, sessionId: m.sessionId, authorId: m.authorId, body: m.body, createdAt: iso(m.createdAt)!, editedAt: iso(m.editedAt), deletedAt: iso(m.deletedAt), deletedBy: m.deletedBy };
}

/** A page of sessions (codegen maps SessionConnection to it). */
export type SessionConnection = Connection<Session>;
/** A page of chat messages. */
export type ChatMessageConnection = Connection<ChatMessageView>;
/** A page of moderation actions. */
export type ModerationActionConnection = Connection<ModerationAction>;

/** A person who raised their hand, in queue order. */
export interface RaisedHandView {
  sessionId: string;
  userId: string;
  /** 1-based place in the queue. */
  position: number;
  raisedAt: Date | string;
}

/** A person present in a session now. */
export interface ParticipantView {
  sessionId: string;
  userId: string;
  since: Date | string;
}

/** One participant's attendance of a session. */
export interface AttendanceView {
  sessionId: string;
  userId: string;
  role: 'LEARNER' | 'INSTRUCTOR' | 'ORG_ADMIN';
  intervals: { joinedAt: Date; leftAt: Date | null }[];
  attendedSeconds: number;
  percent: number;
}

/** Entities of the schema (the subgraph and the worker share the list). */
export const entities = [SessionSchema, ChatMessageSchema, ModerationActionSchema];

/** Another context's entity (User, Cohort, Offering), as live knows it: its global id. */
export interface EntityRef {
  id: string;
}
