// Chat, moderation and the raise-hand queue of a session. Every participant (the session's
// learners, instructors, ORG_ADMIN) posts and raises a hand; authors edit and delete their own
// messages; instructors (and ORG_ADMIN) delete any message, mute and unmute participants and
// lower any hand. Every moderation action is recorded (moderation_actions). A muted person gets
// PARTICIPANT_MUTED, a person posting faster than the token bucket allows RATE_LIMITED.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, forbidden, inputId, notFound } from '@lectern/kernel';
import { requirePerson, type Person } from '../../access.ts';
import { liveError, mutedError, rateLimitedError, type MutationResult } from '../../errors.ts';
import { runMutation, Refusal, type Idempotent, type ServiceDeps } from '../session/mutation.ts';
import { ChatMessage, messageView } from '../session/session.entity.ts';
import { activeMute, deleteMute, isLearnerOf, lockMessage, lockSession, lowerHand, raiseHand, recordModeration, upsertMute } from '../session/session.store.ts';

export interface PostChatMessageInput extends Idempotent {
  sessionId: string;
  body: string;
}
export interface EditChatMessageInput extends Idempotent {
  messageId: string;
  body: string;
}
export interface DeleteChatMessageInput extends Idempotent {
  messageId: string;
  reason?: string | null;
}
export interface MuteParticipantInput extends Idempotent {
  sessionId: string;
  userId: string;
  minutes: number;
  reason?: string | null;
}
export interface UnmuteParticipantInput extends Idempotent {
  sessionId: string;
  userId: string;
  reason?: string | null;
}
export interface RaiseHandInput extends Idempotent {
  sessionId: string;
}
export interface LowerHandInput extends Idempotent {
  sessionId: string;
  userId?: string | null;
}

export const MAX_BODY = 2000;
export const MAX_MUTE_MINUTES = 24 * 60;

function cleanBody(v: string): string {
  const t = v.trim();
  if (t.length < 1 || t.length > MAX_BODY) throw badInput(`body must be 1 to ${MAX_BODY} characters`, 'body');
  return t;
}

function cleanReason(v: string | null | undefined): string | null {
  if (v == null) return null;
  const t = v.trim();
  if (t.length > 500) throw badInput('reason must be at most 500 characters', 'reason');
  return t || null;
}

export class ChatService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  #person(): ServiceDeps & { actor: Person } {
    const { actor } = this.#deps;
    requirePerson(actor);
    return { ...this.#deps, actor };
  }

  /** The session, NOT_FOUND unless the caller may see it. */
  async #session(em: EntityManager, deps: ServiceDeps & { actor: Person }, sessionId: string) {
    const found = await lockSession(em, deps.actor.tenantId, sessionId, deps.viewer, 'share');
    if (!found?.access) throw notFound('Session');
    return found as { session: typeof found.session; access: 'MANAGE' | 'ATTEND' };
  }

  /** The message and its session, NOT_FOUND unless the caller may see the session. */
  async #message(em: EntityManager, deps: ServiceDeps & { actor: Person }, messageId: string) {
    const message = await lockMessage(em, deps.actor.tenantId, messageId);
    if (!message) throw notFound('ChatMessage');
    const found = await lockSession(em, deps.actor.tenantId, message.sessionId, deps.viewer, 'share');
    if (!found?.access) throw notFound('ChatMessage');
    return { message, session: found.session, access: found.access };
  }

  async postChatMessage(input: PostChatMessageInput): Promise<MutationResult> {
    const deps = this.#person();
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    const body = cleanBody(input.body);
    return runMutation(deps, 'postChatMessage', input, async (em, tenantId, publish) => {
      const { session } = await this.#session(em, deps, sessionId);
      if (session.status === 'ENDED') return { sessionId, messageId: null, errors: [liveError('SESSION_ENDED', 'The session has ended; its chat is closed')] };
      const until = await activeMute(em, tenantId, sessionId, deps.actor.userId);
      if (until) throw new Refusal(mutedError(until));
      const wait = await deps.rateLimiter.take(`${tenantId}:${sessionId}:${deps.actor.userId}`);
      if (wait !== null) throw new Refusal(rateLimitedError(wait));
      const message = em.create(ChatMessage, { id: randomUUID(), tenantId, sessionId, authorId: deps.actor.userId, body, editedAt: null, deletedAt: null, deletedBy: null });
      await em.flush();
      const posted = messageView({ id: message.id, sessionId, authorId: message.authorId, body, createdAt: message.createdAt, editedAt: null, deletedAt: null, deletedBy: null });
      publish({ type: 'ChatMessagePosted', sessionId, message: posted, at: posted.createdAt as string });
      return { sessionId, messageId: message.id, errors: [] };
    });
  }

  async editChatMessage(input: EditChatMessageInput): Promise<MutationResult> {
    const deps = this.#person();
    const messageId = inputId(input.messageId, 'ChatMessage', 'messageId');
    const body = cleanBody(input.body);
    return runMutation(deps, 'editChatMessage', input, async (em, tenantId, publish) => {
      const { message, session } = await this.#message(em, deps, messageId);
      const result = { sessionId: session.id, messageId };
      if (message.authorId !== deps.actor.userId) return { ...result, errors: [liveError('NOT_AUTHOR', 'Only its author edits a message', 'messageId')] };
      if (message.deletedAt) return { ...result, errors: [liveError('MESSAGE_DELETED', 'The message was deleted', 'messageId')] };
      if (session.status === 'ENDED') return { ...result, errors: [liveError('SESSION_ENDED', 'The session has ended; its chat is closed')] };
      const until = await activeMute(em, tenantId, session.id, deps.actor.userId);
      if (until) throw new Refusal(mutedError(until));
      const now = new Date();
      await em.execute('update chat_messages set body = ?, edited_at = ? where tenant_id = ? and id = ?', [body, now.toISOString(), tenantId, messageId]);
      publish({ type: 'ChatMessageEdited', sessionId: session.id, message: messageView({ ...message, body, editedAt: now }), at: now.toISOString() });
      return { ...result, errors: [] };
    });
  }

  async deleteChatMessage(input: DeleteChatMessageInput): Promise<MutationResult> {
    const deps = this.#person();
    const messageId = inputId(input.messageId, 'ChatMessage', 'messageId');
    const reason = cleanReason(input.reason);
    return runMutation(deps, 'deleteChatMessage', input, async (em, tenantId, publish) => {
      const { message, session, access } = await this.#message(em, deps, messageId);
      const result = { sessionId: session.id, messageId };
      const own = message.authorId === deps.actor.userId;
      if (!own && access !== 'MANAGE') return { ...result, errors: [liveError('NOT_AUTHOR', 'Only its author or an instructor deletes a message', 'messageId')] };
      if (message.deletedAt) return { ...result, errors: [] };
      const now = new Date();
      await em.execute('update chat_messages set deleted_at = ?, deleted_by = ? where tenant_id = ? and id = ?', [now.toISOString(), deps.actor.userId, tenantId, messageId]);
      if (!own) {
        await recordModeration(em, tenantId, { id: randomUUID(), sessionId: session.id, actorId: deps.actor.userId, action: 'DELETE_MESSAGE', targetUserId: message.authorId, messageId, reason });
      }
      publish({ type: 'ChatMessageDeleted', sessionId: session.id, message: messageView({ ...message, deletedAt: now, deletedBy: deps.actor.userId }), by: deps.actor.userId, at: now.toISOString() });
      return { ...result, errors: [] };
    });
  }

  async muteParticipant(input: MuteParticipantInput): Promise<MutationResult> {
    const deps = this.#person();
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    const userId = inputId(input.userId, 'User', 'userId');
    const reason = cleanReason(input.reason);
    if (!Number.isInteger(input.minutes) || input.minutes < 1 || input.minutes > MAX_MUTE_MINUTES) throw badInput(`minutes must be between 1 and ${MAX_MUTE_MINUTES}`, 'minutes');
    if (userId === deps.actor.userId) throw badInput('You cannot mute yourself', 'userId');
    return runMutation(deps, 'muteParticipant', input, async (em, tenantId, publish) => {
      const { session, access } = await this.#session(em, deps, sessionId);
      if (access !== 'MANAGE') throw forbidden('Only the instructors of the session or an ORG_ADMIN mute participants');
      if (!(await isLearnerOf(em, tenantId, session, userId))) return { sessionId, userId, errors: [liveError('NOT_A_PARTICIPANT', 'Only a learner of the session can be muted', 'userId')] };
      const until = new Date(Date.now() + input.minutes * 60_000);
      await upsertMute(em, tenantId, sessionId, userId, until, deps.actor.userId);
      await recordModeration(em, tenantId, { id: randomUUID(), sessionId, actorId: deps.actor.userId, action: 'MUTE', targetUserId: userId, reason, mutedUntil: until });
      publish({ type: 'ParticipantMuted', sessionId, userId, until: until.toISOString(), by: deps.actor.userId, at: new Date().toISOString() });
      return { sessionId, userId, until: until.toISOString(), errors: [] };
    });
  }

  async unmuteParticipant(input: UnmuteParticipantInput): Promise<MutationResult> {
    const deps = this.#person();
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    const userId = inputId(input.userId, 'User', 'userId');
    const reason = cleanReason(input.reason);
    return runMutation(deps, 'unmuteParticipant', input, async (em, tenantId, publish) => {
      const { access } = await this.#session(em, deps, sessionId);
      if (access !== 'MANAGE') throw forbidden('Only the instructors of the session or an ORG_ADMIN unmute participants');
      const wasMuted = await deleteMute(em, tenantId, sessionId, userId);
      await recordModeration(em, tenantId, { id: randomUUID(), sessionId, actorId: deps.actor.userId, action: 'UNMUTE', targetUserId: userId, reason });
      if (wasMuted) publish({ type: 'ParticipantMuted', sessionId, userId, until: null, by: deps.actor.userId, at: new Date().toISOString() });
      return { sessionId, userId, until: null, errors: [] };
    });
  }

  async raiseHand(input: RaiseHandInput): Promise<MutationResult> {
    const deps = this.#person();
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    return runMutation(deps, 'raiseHand', input, async (em, tenantId, publish) => {
      const { session } = await this.#session(em, deps, sessionId);
      if (session.status === 'ENDED') return { sessionId, userId: deps.actor.userId, errors: [liveError('SESSION_ENDED', 'The session has ended')] };
      const hand = await raiseHand(em, tenantId, sessionId, deps.actor.userId);
      if (hand.raised) {
        publish({ type: 'HandRaised', sessionId, userId: deps.actor.userId, position: hand.position, raisedAt: hand.raisedAt.toISOString(), at: hand.raisedAt.toISOString() });
      }
      return { sessionId, userId: deps.actor.userId, errors: [] };
    });
  }

  async lowerHand(input: LowerHandInput): Promise<MutationResult> {
    const deps = this.#person();
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    const userId = input.userId == null ? deps.actor.userId : inputId(input.userId, 'User', 'userId');
    return runMutation(deps, 'lowerHand', input, async (em, tenantId, publish) => {
      const { access } = await this.#session(em, deps, sessionId);
      const own = userId === deps.actor.userId;
      if (!own && access !== 'MANAGE') throw forbidden('Only the instructors of the session or an ORG_ADMIN lower someone else’s hand');
      if (await lowerHand(em, tenantId, sessionId, userId)) {
        if (!own) await recordModeration(em, tenantId, { id: randomUUID(), sessionId, actorId: deps.actor.userId, action: 'LOWER_HAND', targetUserId: userId });
        publish({ type: 'HandLowered', sessionId, userId, by: deps.actor.userId, at: new Date().toISOString() });
      }
      return { sessionId, userId, errors: [] };
    });
  }
}
