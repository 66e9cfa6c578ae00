// Sessions: scheduling and changing them (instructors of the offering's cohorts, ORG_ADMIN),
// starting them (people already present get an attendance interval) and ending them (open
// intervals close, and AttendanceRecorded goes through the outbox in the same transaction).
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, forbidden, inputId, notFound } from '@lectern/kernel';
import { recordEvent } from '@lectern/kernel/outbox';
import { AttendanceRecorded } from '@lectern/contracts/live';
import { attendeeRole, requireMember, type Member } from '../../access.ts';
import { liveError, type MutationResult } from '../../errors.ts';
import { attendedSeconds, percentOf } from '../attendance/attendance.ts';
import { runMutation, type Idempotent, type ServiceDeps } from './mutation.ts';
import { Session } from './session.entity.ts';
import { clearHands, closeIntervals, lockSession, offeringCohorts, openIntervals, sessionIntervals } from './session.store.ts';

type DateInput = Date | string;

export interface ScheduleSessionInput extends Idempotent {
  offeringId: string;
  title: string;
  startsAt: DateInput;
  endsAt: DateInput;
  joinUrl: string;
  cohortIds?: string[] | null;
}
export interface UpdateSessionInput extends Idempotent {
  sessionId: string;
  title?: string | null;
  startsAt?: DateInput | null;
  endsAt?: DateInput | null;
  joinUrl?: string | null;
  cohortIds?: string[] | null;
}
export interface SessionIdInput extends Idempotent {
  sessionId: string;
}

const MAX_COHORTS = 100;

function toDate(v: DateInput, field: string): Date {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw badInput(`${field} is not a valid date-time`, field);
  return d;
}

function cleanTitle(v: string): string {
  const t = v.trim();
  if (t.length < 1 || t.length > 200) throw badInput('title must be 1 to 200 characters', 'title');
  return t;
}

/** The join link of the external video provider: an absolute https URL of at most 2000 characters. */
export function checkJoinUrl(v: string): string {
  const t = v.trim();
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    throw badInput('joinUrl must be an absolute https URL', 'joinUrl');
  }
  if (url.protocol !== 'https:' || !url.hostname || t.length > 2000 || url.username || url.password) throw badInput('joinUrl must be an https URL (at most 2000 characters, no credentials)', 'joinUrl');
  return url.toString();
}

function cohortUuids(ids: string[]): string[] {
  if (ids.length === 0 || ids.length > MAX_COHORTS) throw badInput(`cohortIds must name 1 to ${MAX_COHORTS} cohorts (null: every cohort)`, 'cohortIds');
  return [...new Set(ids.map((id) => inputId(id, 'Cohort', 'cohortIds')))].sort();
}

export class SessionService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  /** The session for a change by the caller: NOT_FOUND unless they may see it, FORBIDDEN unless they run it. */
  static async managed(em: EntityManager, deps: ServiceDeps & { actor: Member }, sessionId: string): Promise<Session> {
    const found = await lockSession(em, deps.actor.tenantId, sessionId, deps.viewer);
    if (!found?.access) throw notFound('Session');
    if (found.access !== 'MANAGE') throw forbidden('Only the instructors of the session or an ORG_ADMIN can do this');
    return found.session;
  }

  async scheduleSession(input: ScheduleSessionInput): Promise<MutationResult> {
    const { actor, viewer } = this.#deps;
    requireMember(actor);
    const offeringId = inputId(input.offeringId, 'Offering', 'offeringId');
    const title = cleanTitle(input.title);
    const startsAt = toDate(input.startsAt, 'startsAt');
    const endsAt = toDate(input.endsAt, 'endsAt');
    if (endsAt <= startsAt) throw badInput('endsAt must be after startsAt', 'endsAt');
    const joinUrl = checkJoinUrl(input.joinUrl);
    const cohortIds = input.cohortIds == null ? null : cohortUuids(input.cohortIds);
    return runMutation({ ...this.#deps, actor }, 'scheduleSession', input, async (em, tenantId) => {
      const cohorts = await offeringCohorts(em, tenantId, offeringId);
      const chosen = cohortIds ? cohorts.filter((c) => cohortIds.includes(c.cohortId)) : cohorts;
      const teaches = viewer.userId !== null && chosen.some((c) => c.instructorIds.includes(viewer.userId!));
      if (!viewer.all && !teaches) throw forbidden('Only the instructors of the offering’s cohorts or an ORG_ADMIN schedule sessions');
      if (!cohorts.length) return { sessionId: null, errors: [liveError('OFFERING_NOT_FOUND', 'No such offering (with cohorts) in this organization', 'offeringId')] };
      if (cohortIds && chosen.length !== cohortIds.length) return { sessionId: null, errors: [liveError('COHORT_NOT_IN_OFFERING', 'Every cohort must belong to the offering', 'cohortIds')] };
      const session = em.create(Session, {
        id: randomUUID(),
        tenantId,
        offeringId,
        cohortIds,
        title,
        startsAt,
        endsAt,
        joinUrl,
        status: 'SCHEDULED',
        startedAt: null,
        endedAt: null,
        createdBy: actor.userId,
      });
      await em.flush();
      return { sessionId: session.id, errors: [] };
    });
  }

  async updateSession(input: UpdateSessionInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireMember(actor);
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    const title = input.title == null ? null : cleanTitle(input.title);
    const joinUrl = input.joinUrl == null ? null : checkJoinUrl(input.joinUrl);
    const startsAt = input.startsAt == null ? null : toDate(input.startsAt, 'startsAt');
    const endsAt = input.endsAt == null ? null : toDate(input.endsAt, 'endsAt');
    const cohortIds = input.cohortIds === undefined ? undefined : input.cohortIds === null ? null : cohortUuids(input.cohortIds);
    const deps = { ...this.#deps, actor };
    return runMutation(deps, 'updateSession', input, async (em, tenantId) => {
      const session = await SessionService.managed(em, deps, sessionId);
      if (session.status === 'ENDED') return { sessionId, errors: [liveError('SESSION_ENDED', 'The session has ended')] };
      if (cohortIds !== undefined) {
        if (cohortIds) {
          const cohorts = await offeringCohorts(em, tenantId, session.offeringId);
          if (!cohortIds.every((id) => cohorts.some((c) => c.cohortId === id))) return { sessionId, errors: [liveError('COHORT_NOT_IN_OFFERING', 'Every cohort must belong to the offering', 'cohortIds')] };
        }
        session.cohortIds = cohortIds;
      }
      if (title) session.title = title;
      if (joinUrl) session.joinUrl = joinUrl;
      if (startsAt) session.startsAt = startsAt;
      if (endsAt) session.endsAt = endsAt;
      if (session.endsAt <= session.startsAt) throw badInput('endsAt must be after startsAt', 'endsAt');
      await em.flush();
      return { sessionId, errors: [] };
    });
  }

  async startSession(input: SessionIdInput): Promise<MutationResult> {
    const { actor, presence } = this.#deps;
    requireMember(actor);
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    const deps = { ...this.#deps, actor };
    return runMutation(deps, 'startSession', input, async (em, tenantId, publish) => {
      const session = await SessionService.managed(em, deps, sessionId);
      if (session.status !== 'SCHEDULED') return { sessionId, errors: [liveError('SESSION_NOT_SCHEDULED', `The session is ${session.status}, not SCHEDULED`)] };
      const now = new Date();
      session.status = 'LIVE';
      session.startedAt = now;
      await em.flush();
      // People already present (subscribed before the start) attend from now.
      await openIntervals(em, tenantId, sessionId, await presence.presentUsers(tenantId, sessionId), now);
      publish({ type: 'SessionStatusChanged', sessionId, status: 'LIVE', at: now.toISOString() });
      return { sessionId, errors: [] };
    });
  }

  async endSession(input: SessionIdInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireMember(actor);
    const sessionId = inputId(input.sessionId, 'Session', 'sessionId');
    const deps = { ...this.#deps, actor };
    return runMutation(deps, 'endSession', input, async (em, tenantId, publish) => {
      const session = await SessionService.managed(em, deps, sessionId);
      if (session.status !== 'LIVE') return { sessionId, errors: [liveError('SESSION_NOT_LIVE', `The session is ${session.status}, not LIVE`)] };
      const now = new Date();
      const startedAt = session.startedAt ?? now;
      session.status = 'ENDED';
      session.endedAt = now;
      await em.flush();
      await closeIntervals(em, tenantId, sessionId, null, now);
      await clearHands(em, tenantId, sessionId);
      await recordEvent(em, AttendanceRecorded, { tenantId, aggregateId: sessionId, payload: await attendancePayload(em, tenantId, session, startedAt, now) });
      publish({ type: 'SessionStatusChanged', sessionId, status: 'ENDED', at: now.toISOString() });
      return { sessionId, errors: [] };
    });
  }
}

/** AttendanceRecorded's payload: every participant's merged seconds within the LIVE span. */
async function attendancePayload(em: EntityManager, tenantId: string, session: Session, startedAt: Date, endedAt: Date) {
  const intervals = await sessionIntervals(em, tenantId, session);
  const cohorts = await offeringCohorts(em, tenantId, session.offeringId);
  const instructors = new Set(cohorts.filter((c) => !session.cohortIds || session.cohortIds.includes(c.cohortId)).flatMap((c) => c.instructorIds));
  const durationSeconds = Math.max(0, Math.floor((endedAt.getTime() - startedAt.getTime()) / 1000));
  const byUser = new Map<string, typeof intervals>();
  for (const i of intervals) (byUser.get(i.userId) ?? byUser.set(i.userId, []).get(i.userId)!).push(i);
  const attendees = [...byUser].map(([userId, list]) => {
    const seconds = Math.min(durationSeconds, attendedSeconds(list, startedAt, endedAt));
    return { userId, role: attendeeRole({ learner: list[0]!.learner, admin: !instructors.has(userId) }), attendedSeconds: seconds, percent: percentOf(seconds, durationSeconds) };
  });
  return { sessionId: session.id, offeringId: session.offeringId, startedAt: startedAt.toISOString(), endedAt: endedAt.toISOString(), durationSeconds, attendees };
}
