// Shared set-up of the live integration tests: a fresh database per test file (live's schema),
// the live subgraph started in-process on it under a private Redis prefix, and an organization
// whose roster (cohorts, instructors, enrollments) is fed through live's projection handlers
// exactly as the consumer applies enrollment's events.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Actor } from '@lectern/kernel/actor';
import { globalId } from '@lectern/kernel';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { actor, adminPool, createTestDatabase, idem, ok, type TestDatabase, dropRedisKeys } from '@lectern/testkit';
import { CohortInstructorsChanged, EnrollmentDropped, EnrollmentMoved, LearnerEnrolled } from '@lectern/contracts/enrollment';
import { loadEnv, migrations, startLive, type LiveEnv } from '../src/server.ts';
import type { SubgraphRuntime } from '../src/runtime.ts';
import { applyRosterEvent, envelope } from '../src/testing/index.ts';
export { call, errorCode, ok, until } from '@lectern/testkit';

export { idem };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface Harness {
  db: TestDatabase;
  env: LiveEnv;
  live: RunningSubgraph<LiveEnv, SubgraphRuntime>;
  url: string;
  admin: pg.Pool;
  /** A Redis client without keyPrefix (sees the subgraph's keys with REDIS_PREFIX). */
  redis: Redis;
  close(): Promise<void>;
}

export async function startHarness(label: string, env: Record<string, string> = {}): Promise<Harness> {
  const db = await createTestDatabase({ live: migrations }, label);
  const cleanups: (() => Promise<unknown>)[] = [() => db.drop()];
  const close = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  try {
    const liveEnv = loadEnv({ ...db.env, WORKER_PORT: '0', PRESENCE_TTL_SECONDS: '2', PRESENCE_SWEEP_INTERVAL_MS: '200', CHAT_BURST: '3', CHAT_RATE_PER_MINUTE: '6', ...env });
    const redis = new Redis(liveEnv.REDIS_URL, { lazyConnect: false });
    cleanups.push(() => dropRedisKeys(redis, liveEnv.REDIS_PREFIX));
    const live = await startLive(liveEnv);
    cleanups.push(() => live.close());
    const admin = adminPool(db, 3);
    cleanups.push(() => admin.end());
    return { db, env: liveEnv, live, url: live.url, admin, redis, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Global ids of the objects tests name by their plain UUIDs (the API sends and answers only these). */
export const gid = {
  user: (uuid: string) => globalId('User', uuid),
  offering: (uuid: string) => globalId('Offering', uuid),
  cohort: (uuid: string) => globalId('Cohort', uuid),
  session: (uuid: string) => globalId('Session', uuid),
};

/** Applies one of enrollment's events to live's roster. */
export function roster(h: Harness, event: Parameters<typeof applyRosterEvent>[1]) {
  return applyRosterEvent(h.live.deps.orm, event);
}

/**
 * An organization with one offering of two cohorts (A, B): an instructor each, two learners in
 * A, one in B, a member enrolled nowhere, and an ORG_ADMIN. Actors carry plain UUIDs.
 */
export async function organization(h: Harness) {
  const tenantId = randomUUID();
  const offeringId = randomUUID();
  const cohortA = randomUUID();
  const cohortB = randomUUID();
  const person = (roles: Actor['roles']) => actor({ tenantId, roles });
  const org = {
    tenantId,
    offeringId,
    cohortA,
    cohortB,
    admin: person(['ORG_ADMIN']),
    instructor: person(['INSTRUCTOR']),
    instructorB: person(['INSTRUCTOR']),
    learner: person(['LEARNER']),
    learner2: person(['LEARNER']),
    learnerB: person(['LEARNER']),
    outsider: person(['LEARNER']),
    enrollments: {} as Record<string, string>,
  };
  await roster(h, envelope(CohortInstructorsChanged, { tenantId, payload: { cohortId: cohortA, offeringId, instructorIds: [org.instructor.userId!] } }));
  await roster(h, envelope(CohortInstructorsChanged, { tenantId, payload: { cohortId: cohortB, offeringId, instructorIds: [org.instructorB.userId!] } }));
  for (const [who, cohortId] of [[org.learner, cohortA], [org.learner2, cohortA], [org.learnerB, cohortB]] as const) {
    org.enrollments[who.userId!] = await enroll(h, tenantId, offeringId, cohortId, who.userId!);
  }
  return org;
}
export type Org = Awaited<ReturnType<typeof organization>>;

export async function enroll(h: Harness, tenantId: string, offeringId: string, cohortId: string, learnerId: string): Promise<string> {
  const enrollmentId = randomUUID();
  await roster(
    h,
    envelope(LearnerEnrolled, {
      tenantId,
      aggregateId: enrollmentId,
      payload: { enrollmentId, learnerId, offeringId, cohortId, courseId: randomUUID(), courseVersionId: randomUUID(), promotedFromWaitlist: false },
    }),
  );
  return enrollmentId;
}

export function dropped(tenantId: string, p: { enrollmentId: string; learnerId: string; offeringId: string; cohortId: string }) {
  return envelope(EnrollmentDropped, { tenantId, aggregateId: p.enrollmentId, payload: { ...p, courseId: randomUUID(), courseVersionId: randomUUID(), wasActive: true, droppedBy: null } });
}

export function moved(tenantId: string, p: { enrollmentId: string; learnerId: string; offeringId: string; fromCohortId: string; toCohortId: string }) {
  return envelope(EnrollmentMoved, { tenantId, aggregateId: p.enrollmentId, payload: p });
}

export const M = {
  schedule: `mutation($input: ScheduleSessionInput!) { scheduleSession(input: $input) { session { id title status joinUrl offering { id } cohorts { id } instructors { id } viewerCanManage } errors { code message path } } }`,
  update: `mutation($input: UpdateSessionInput!) { updateSession(input: $input) { session { id title joinUrl cohorts { id } } errors { code message path } } }`,
  start: `mutation($input: SessionActionInput!) { startSession(input: $input) { session { id status startedAt } errors { code message } } }`,
  end: `mutation($input: SessionActionInput!) { endSession(input: $input) { session { id status endedAt } errors { code message } } }`,
  post: `mutation($input: PostChatMessageInput!) { postChatMessage(input: $input) { message { id body author { id } session { id } } errors { __typename code message path ... on ParticipantMutedError { until } ... on ChatRateLimitedError { retryAfterSeconds } } } }`,
  edit: `mutation($input: EditChatMessageInput!) { editChatMessage(input: $input) { message { id body editedAt } errors { code message } } }`,
  del: `mutation($input: DeleteChatMessageInput!) { deleteChatMessage(input: $input) { message { id body deletedAt deletedBy { id } } errors { code message } } }`,
  mute: `mutation($input: MuteParticipantInput!) { muteParticipant(input: $input) { participant { id } mutedUntil errors { code message } } }`,
  unmute: `mutation($input: UnmuteParticipantInput!) { unmuteParticipant(input: $input) { participant { id } mutedUntil errors { code message } } }`,
  raise: `mutation($input: RaiseHandInput!) { raiseHand(input: $input) { hand { user { id } position } errors { code message } } }`,
  lower: `mutation($input: LowerHandInput!) { lowerHand(input: $input) { hand { position } session { raisedHands { user { id } position } } errors { code message } } }`,
};

const HOUR = 3600_000;

/** A session of the org's offering scheduled by its instructor (all cohorts unless `cohortIds`, UUIDs). */
export async function scheduleSession(h: Harness, org: Org, opts: { by?: Actor; cohortIds?: string[]; title?: string } = {}): Promise<string> {
  const r = await ok(h, opts.by ?? org.instructor, M.schedule, {
    input: {
      offeringId: gid.offering(org.offeringId),
      title: opts.title ?? 'Office hours',
      startsAt: new Date(Date.now() + HOUR).toISOString(),
      endsAt: new Date(Date.now() + 2 * HOUR).toISOString(),
      joinUrl: 'https://video.example.com/room/42',
      cohortIds: opts.cohortIds?.map(gid.cohort),
      idempotencyKey: idem(),
    },
  });
  if (r.scheduleSession.errors.length) throw new Error(JSON.stringify(r.scheduleSession.errors));
  return r.scheduleSession.session.id as string;
}

export async function startSession(h: Harness, who: Actor, sessionId: string) {
  const r = await ok(h, who, M.start, { input: { sessionId, idempotencyKey: idem() } });
  if (r.startSession.errors.length) throw new Error(JSON.stringify(r.startSession.errors));
  return r.startSession.session;
}

/** Outbox rows of `type` for a session (superuser: sees every tenant). */
export async function outboxRows(h: Harness, type: string, sessionUuid: string): Promise<{ payload: Data }[]> {
  const { rows } = await h.admin.query('select payload from live.outbox where type = $1 and aggregate_id = $2', [type, sessionUuid]);
  return rows;
}
