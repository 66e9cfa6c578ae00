// Sessions, chat messages, hands, attendance and moderation as the API shows them, the
// mutations, and their payloads. Thin: parse arguments, call the reads and services, turn a
// mutation's stored result (UUIDs and typed errors) into objects. Ids out are global.
import type { GraphQLResolveInfo } from 'graphql';
import { emptyConnection, entityRef, globalIdOf, idOf, type PageArgs } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import { errorTypeOf, type LiveError, type MutationResult } from '../../errors.ts';
import type { ChatMessageView, ModerationAction, RaisedHandView, Session } from './session.entity.ts';

type Input<T> = { input: T };
type Sessions = Context['sessions'];
type Chat = Context['chat'];

/**
 * Whether this field runs inside a subscription event. A gateway shares one upstream
 * subscription among every subscriber of a session (same operation, variables and channel), and
 * the subgraph executes each event once for all of them, as the subscriber that opened it: fields
 * that depend on who is asking answer their neutral value there (documented in the SDL), never
 * that subscriber's.
 */
const streamed = (info: GraphQLResolveInfo) => info.operation.operation === 'subscription';

const session = (r: MutationResult, _: unknown, ctx: Context) => (r.sessionId ? ctx.reads.byUuid(r.sessionId) : null);

/** The hand of `userId` in the session's queue now; null when it is down. */
export const handOf = async (ctx: Context, sessionId: string, userId: string): Promise<RaisedHandView | null> =>
  (await ctx.loaders.raisedHands.load(sessionId)).find((h) => h.userId === userId) ?? null;

export const sessionResolvers = {
  Query: {
    session: (_: unknown, a: { id: string }, ctx: Context) => ctx.reads.session(a.id),
  },
  Mutation: {
    scheduleSession: (_: unknown, { input }: Input<Parameters<Sessions['scheduleSession']>[0]>, ctx: Context) => ctx.sessions.scheduleSession(input),
    updateSession: (_: unknown, { input }: Input<Parameters<Sessions['updateSession']>[0]>, ctx: Context) => ctx.sessions.updateSession(input),
    startSession: (_: unknown, { input }: Input<Parameters<Sessions['startSession']>[0]>, ctx: Context) => ctx.sessions.startSession(input),
    endSession: (_: unknown, { input }: Input<Parameters<Sessions['endSession']>[0]>, ctx: Context) => ctx.sessions.endSession(input),
    postChatMessage: (_: unknown, { input }: Input<Parameters<Chat['postChatMessage']>[0]>, ctx: Context) => ctx.chat.postChatMessage(input),
    editChatMessage: (_: unknown, { input }: Input<Parameters<Chat['editChatMessage']>[0]>, ctx: Context) => ctx.chat.editChatMessage(input),
    deleteChatMessage: (_: unknown, { input }: Input<Parameters<Chat['deleteChatMessage']>[0]>, ctx: Context) => ctx.chat.deleteChatMessage(input),
    muteParticipant: (_: unknown, { input }: Input<Parameters<Chat['muteParticipant']>[0]>, ctx: Context) => ctx.chat.muteParticipant(input),
    unmuteParticipant: (_: unknown, { input }: Input<Parameters<Chat['unmuteParticipant']>[0]>, ctx: Context) => ctx.chat.unmuteParticipant(input),
    raiseHand: (_: unknown, { input }: Input<Parameters<Chat['raiseHand']>[0]>, ctx: Context) => ctx.chat.raiseHand(input),
    lowerHand: (_: unknown, { input }: Input<Parameters<Chat['lowerHand']>[0]>, ctx: Context) => ctx.chat.lowerHand(input),
  },
  Offering: {
    // Enrollment's entity: live adds its sessions (the id stays enrollment's global id).
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'Offering') ? { id: ref.id } : null),
    sessions: (o: { id: string }, a: PageArgs, ctx: Context) => ctx.reads.offeringSessions(o.id, a),
  },
  Session: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.reads.session(ref.id),
    id: globalIdOf('Session'),
    offering: (s: Session) => entityRef('Offering', s.offeringId),
    cohorts: (s: Session) => (s.cohortIds ? s.cohortIds.map((id) => entityRef('Cohort', id)) : null),
    instructors: async (s: Session, _: unknown, ctx: Context) => (await ctx.loaders.instructors.load(s.id)).map((i) => entityRef('User', i.userId)),
    participants: async (s: Session, _: unknown, ctx: Context) => (await ctx.loaders.participants.load(s.id)).map((p) => ({ sessionId: s.id, userId: p.userId, since: p.since })),
    messages: (s: Session, a: PageArgs, ctx: Context) => ctx.reads.messages(s, a),
    raisedHands: (s: Session, _: unknown, ctx: Context) => ctx.loaders.raisedHands.load(s.id),
    attendance: (s: Session, _: unknown, ctx: Context, info: GraphQLResolveInfo) => (streamed(info) ? [] : ctx.reads.attendance(s)),
    moderationLog: (s: Session, a: PageArgs, ctx: Context, info: GraphQLResolveInfo) => (streamed(info) ? emptyConnection<ModerationAction>() : ctx.reads.moderationLog(s, a)),
    viewerMutedUntil: async (s: Session, _: unknown, ctx: Context, info: GraphQLResolveInfo) => (streamed(info) ? null : ((await ctx.loaders.viewerMute.load(s.id))?.until ?? null)),
    viewerCanManage: async (s: Session, _: unknown, ctx: Context, info: GraphQLResolveInfo) => !streamed(info) && (await ctx.reads.access(s.id)) === 'MANAGE',
  },
  Participant: {
    user: (p: { userId: string }) => entityRef('User', p.userId),
  },
  ChatMessage: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.reads.message(ref.id),
    id: globalIdOf('ChatMessage'),
    session: async (m: ChatMessageView, _: unknown, ctx: Context) => (await ctx.reads.byUuid(m.sessionId))!,
    body: (m: ChatMessageView) => (m.deletedAt ? null : m.body),
    author: (m: ChatMessageView) => entityRef('User', m.authorId),
    deletedBy: (m: ChatMessageView) => (m.deletedBy ? entityRef('User', m.deletedBy) : null),
  },
  RaisedHand: {
    session: async (h: RaisedHandView, _: unknown, ctx: Context) => (await ctx.reads.byUuid(h.sessionId))!,
    user: (h: RaisedHandView) => entityRef('User', h.userId),
  },
  AttendanceRecord: {
    user: (a: { userId: string }) => entityRef('User', a.userId),
  },
  ModerationAction: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.reads.moderationAction(ref.id),
    id: globalIdOf('ModerationAction'),
    session: async (m: ModerationAction, _: unknown, ctx: Context) => (await ctx.reads.byUuid(m.sessionId))!,
    moderator: (m: ModerationAction) => entityRef('User', m.actorId),
    target: (m: ModerationAction) => entityRef('User', m.targetUserId),
    message: (m: ModerationAction, _: unknown, ctx: Context) => (m.messageId ? ctx.reads.messageByUuid(m.messageId) : null),
  },
  UserError: {
    __resolveType: (e: LiveError) => errorTypeOf(e),
  },
  ScheduleSessionPayload: { session, errors: (r: MutationResult) => r.errors },
  UpdateSessionPayload: { session, errors: (r: MutationResult) => r.errors },
  SessionActionPayload: { session, errors: (r: MutationResult) => r.errors },
  ChatMessagePayload: {
    message: (r: MutationResult, _: unknown, ctx: Context) => (r.messageId ? ctx.reads.messageByUuid(r.messageId) : null),
    errors: (r: MutationResult) => r.errors,
  },
  MutePayload: {
    session,
    participant: (r: MutationResult) => (r.userId ? entityRef('User', r.userId) : null),
    mutedUntil: (r: MutationResult) => r.until ?? null,
    errors: (r: MutationResult) => r.errors,
  },
  HandPayload: {
    session,
    hand: (r: MutationResult, _: unknown, ctx: Context) => (r.sessionId && r.userId ? handOf(ctx, r.sessionId, r.userId) : null),
    errors: (r: MutationResult) => r.errors,
  },
} satisfies Resolvers;

