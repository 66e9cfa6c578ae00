// Reading sessions with the caller's eyes: what they may see (NOT_FOUND / null otherwise),
// what only the session's instructors and ORG_ADMIN see (attendance, the moderation log),
// and references other subgraphs (and `node(id:)`) resolve.
import { emptyConnection, idOf, notFound, type Connection, type PageArgs } from '@lectern/kernel';
import { requireMember, attendeeRole, type SessionAccess } from '../../access.ts';
import { attendedSeconds, percentOf } from '../attendance/attendance.ts';
import type { ServiceDeps } from './mutation.ts';
import type { AttendanceView, ChatMessageView, ModerationAction, Session } from './session.entity.ts';

type ReadDeps = Pick<ServiceDeps, 'actor' | 'loaders' | 'viewer'>;

export class SessionReads {
  #deps: ReadDeps;
  constructor(deps: ReadDeps) {
    this.#deps = deps;
  }

  /** A session (global id) the caller may see; null otherwise. */
  async session(id: string): Promise<Session | null> {
    requireMember(this.#deps.actor);
    const uuid = idOf(id, 'Session');
    return uuid ? this.#deps.loaders.session.load(uuid) : null;
  }

  /** A session (global id) the caller may see, else NOT_FOUND (subscriptions, admissions). */
  async visibleSession(id: string): Promise<Session> {
    const session = await this.session(id);
    if (!session) throw notFound('Session');
    return session;
  }

  async access(sessionId: string): Promise<SessionAccess> {
    return (await this.#deps.loaders.sessionAccess.load(sessionId))?.access ?? null;
  }

  /** The session by UUID (an event's or a row's), as the caller may see it. */
  byUuid(sessionId: string): Promise<Session | null> {
    return this.#deps.loaders.session.load(sessionId);
  }

  /** A page of an offering's sessions (the offering's global id). */
  async offeringSessions(offeringId: string, args: PageArgs): Promise<Connection<Session>> {
    requireMember(this.#deps.actor);
    const uuid = idOf(offeringId, 'Offering');
    return uuid ? this.#deps.loaders.offeringSessions(uuid, args) : emptyConnection();
  }

  messages(session: Session, args: PageArgs): Promise<Connection<ChatMessageView>> {
    return this.#deps.loaders.sessionMessages(session.id, args);
  }

  async moderationLog(session: Session, args: PageArgs): Promise<Connection<ModerationAction>> {
    if ((await this.access(session.id)) !== 'MANAGE') return emptyConnection();
    return this.#deps.loaders.sessionModeration(session.id, args);
  }

  /** Attendance per participant (instructors and ORG_ADMIN; empty for everyone else). */
  async attendance(session: Session): Promise<AttendanceView[]> {
    if ((await this.access(session.id)) !== 'MANAGE') return [];
    if (!session.startedAt) return [];
    const [intervals, instructors] = await Promise.all([this.#deps.loaders.intervals.load(session.id), this.#deps.loaders.instructors.load(session.id)]);
    const teaching = new Set(instructors.map((i) => i.userId));
    const from = session.startedAt;
    const to = session.endedAt ?? new Date();
    const duration = Math.max(0, Math.floor((to.getTime() - from.getTime()) / 1000));
    const byUser = new Map<string, typeof intervals>();
    for (const i of intervals) (byUser.get(i.userId) ?? byUser.set(i.userId, []).get(i.userId)!).push(i);
    return [...byUser].map(([userId, list]) => {
      const seconds = Math.min(duration, attendedSeconds(list, from, to));
      return {
        sessionId: session.id,
        userId,
        role: attendeeRole({ learner: list[0]!.learner, admin: !teaching.has(userId) }),
        intervals: list.map((i) => ({ joinedAt: i.joinedAt, leftAt: i.leftAt })),
        attendedSeconds: seconds,
        percent: percentOf(seconds, duration),
      };
    });
  }

  /** A message (global id) whose session the caller may see; null otherwise. */
  async message(id: string): Promise<ChatMessageView | null> {
    requireMember(this.#deps.actor);
    const uuid = idOf(id, 'ChatMessage');
    if (!uuid) return null;
    return this.messageByUuid(uuid);
  }

  async messageByUuid(uuid: string): Promise<ChatMessageView | null> {
    const message = await this.#deps.loaders.message.load(uuid);
    if (!message) return null;
    return (await this.#deps.loaders.session.load(message.sessionId)) ? message : null;
  }

  /** A moderation action (global id): the session's instructors and ORG_ADMIN only. */
  async moderationAction(id: string): Promise<ModerationAction | null> {
    requireMember(this.#deps.actor);
    const uuid = idOf(id, 'ModerationAction');
    if (!uuid) return null;
    const action = await this.#deps.loaders.moderationAction.load(uuid);
    if (!action) return null;
    return (await this.access(action.sessionId)) === 'MANAGE' ? action : null;
  }
}
