// The operator view: counts of every Lectern queue and the dead letters of all of them
// (notifications' own, another context's events and jobs) for ORG_ADMIN (their organization) and
// SUPER_ADMIN (theirs plus those of no organization), and replaying a dead letter after a fix:
// the very job runs again, once per letter, expected outcomes as payload errors.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import { globalId } from '@lectern/kernel';
import { defineJob, startJobWorker } from '@lectern/kernel/consumers';
import { createLogger } from '@lectern/kernel/logger';
import { bullPrefix, workerConnection } from '@lectern/kernel/queues';
import { actor } from '@lectern/testkit';
import { CoursePublished } from '@lectern/contracts/catalog';
import { MemberAdded } from '@lectern/contracts/identity';
import { LessonCompleted } from '@lectern/contracts/learning';
import { QUEUES } from '@lectern/contracts/queues';
import { deadLetterId, parseDeadLetterId } from '../src/modules/operator/operator.service.ts';
import { startNotifications } from '../src/server.ts';
import { envelope } from '../src/testing/index.ts';
import { call, errorCode, eventsQueue, idem, ok, Q, seedOrg, settled, startHarness, until, type Data, type Harness, type SeededOrg } from './helpers.ts';

let h: Harness;
let A: SeededOrg;
let B: SeededOrg;
/** An organization identity does not know (yet): its events fail until it exists. */
const ghost = randomUUID();
let ghostEvent: ReturnType<typeof envelope<typeof MemberAdded>>;
let ghostUser: string;
let poisonA: string;
let poisonB: string;
let orphan: string;
/** A job of enrollment's queue (a roster import) for A, failing until `importFixed`; and a learning event for B. */
const importId = randomUUID();
let importFixed = false;
const importRuns: string[] = [];
let learningEvent: ReturnType<typeof envelope<typeof LessonCompleted>>;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  h = await startHarness('notifoperator');
  A = await seedOrg(h, 'ops-a');
  B = await seedOrg(h, 'ops-b');
  // A: an event of a version nobody understands (dead at once); B: the same; no organization: a
  // bad envelope; ghost: a handler that fails (identity answers 404) until the organization exists.
  const unknownVersion = (org: SeededOrg) => ({ ...envelope(CoursePublished, { tenantId: org.tenantId, payload: { courseId: randomUUID(), versionId: randomUUID(), previousVersionId: null, publishedBy: null } }), version: 99 });
  const a = unknownVersion(A);
  const b = unknownVersion(B);
  const none = { ...unknownVersion(A), tenantId: null };
  ghostUser = randomUUID();
  ghostEvent = envelope(MemberAdded, { tenantId: ghost, payload: { membershipId: randomUUID(), userId: ghostUser, roles: ['LEARNER'], via: 'ADDED' } });
  for (const e of [a, b, none, ghostEvent]) await eventsQueue(h).add(e.type, e, { jobId: e.id });
  for (const e of [a, b, none, ghostEvent]) expect((await settled(eventsQueue(h), e.id)).state).toBe('failed');
  poisonA = a.id;
  poisonB = b.id;
  orphan = none.id;

  // Other contexts' queues, run here by stand-ins of their workers (the kernel's job worker as
  // enrollment's process runs it; a consumer of events-learning that cannot apply the event).
  const prefix = bullPrefix(h.env.REDIS_PREFIX);
  const log = createLogger('test-workers', 'silent');
  const importConnection = workerConnection(h.env.REDIS_URL);
  const importJob = defineJob({
    queue: 'jobs-enrollment',
    name: 'import-roster',
    payload: z.object({ tenantId: z.string().uuid(), importId: z.string().uuid() }),
    run: async ({ data }) => {
      importRuns.push(data.importId);
      if (!importFixed) throw new Error('identity is unreachable');
      return { resumed: data.importId };
    },
  });
  const importWorker = startJobWorker([importJob], { queue: 'jobs-enrollment', orm: h.worker!.deps.orm, connection: importConnection, prefix, log });
  stops.push(async () => {
    await importWorker.close();
    importConnection.disconnect();
  });
  const learningConnection = workerConnection(h.env.REDIS_URL);
  const learningWorker = new Worker(
    'events-learning',
    async (job: Job) => {
      throw new UnrecoverableError(`no handler for ${job.name} here`);
    },
    { connection: learningConnection, prefix },
  );
  stops.push(async () => {
    await learningWorker.close();
    learningConnection.disconnect();
  });
  await h.queues('jobs-enrollment').add('import-roster', { tenantId: A.tenantId, importId }, { jobId: importId });
  expect((await settled(h.queues('jobs-enrollment'), importId)).state).toBe('failed');
  learningEvent = envelope(LessonCompleted, {
    tenantId: B.tenantId,
    payload: { enrollmentId: randomUUID(), learnerId: randomUUID(), courseId: randomUUID(), courseVersionId: randomUUID(), lessonId: randomUUID(), lineageId: randomUUID() },
  });
  await h.queues('events-learning').add(learningEvent.type, learningEvent, { jobId: learningEvent.id });
  expect((await settled(h.queues('events-learning'), learningEvent.id)).state).toBe('failed');
});
afterAll(async () => {
  for (const stop of stops) await stop().catch(() => {});
  await h?.close();
});

type Letter = { id: string; queue: string; jobId: string; organization: { id: string } | null; replayCount: number };
const nodes = (d: Data): Letter[] => d.queueHealth.deadLetters.edges.map((e: { node: Letter }) => e.node);
const letters = (d: Data) => nodes(d).map((n) => n.jobId).sort();
const org = (o: SeededOrg | string) => ({ id: globalId('Organization', typeof o === 'string' ? o : o.tenantId) });

describe('dead letter ids', () => {
  it('carry the queue and any BullMQ job id (scheduler jobs hold ":"), and name Lectern queues only', () => {
    const schedulerJob = 'repeat:digest-5b0c7a52-7f0e-4f5e-9d1c-4c8f3d3f2a10:1700000000000';
    expect(parseDeadLetterId(deadLetterId('jobs-notifications', schedulerJob))).toEqual({ queue: 'jobs-notifications', jobId: schedulerJob });
    expect(parseDeadLetterId(deadLetterId('events-learning', 'e1'))).toEqual({ queue: 'events-learning', jobId: 'e1' });
    expect(parseDeadLetterId(globalId('DeadLetter', 'events-nowhere', 'ZTE'))).toBeNull();
    expect(parseDeadLetterId(globalId('Notification', randomUUID()))).toBeNull();
    expect(parseDeadLetterId('nope')).toBeNull();
  });
});

describe('queueHealth', () => {
  it('is for ORG_ADMIN and SUPER_ADMIN only', async () => {
    for (const who of [A.actors.learner, A.actors.instructor, actor({ tenantId: A.tenantId, roles: ['SUPPORT_READONLY'] })]) {
      expect(errorCode(await call(h, who, Q.queueHealth))).toBe('FORBIDDEN');
      expect(errorCode(await call(h, who, Q.replay, { input: { id: deadLetterId('events-notifications', poisonA), idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    }
    const key = actor({ kind: 'api_key', userId: null, tenantId: A.tenantId, apiKeyId: randomUUID(), scopes: ['catalog:write'] });
    expect(errorCode(await call(h, key, Q.queueHealth))).toBe('FORBIDDEN');
    expect(errorCode(await call(h, actor({ kind: 'anonymous', userId: null }), Q.queueHealth))).toBe('UNAUTHENTICATED');
  });

  it('counts every Lectern queue', async () => {
    const a = await ok(h, A.actors.admin, Q.queueHealth);
    expect(a.queueHealth.queues.map((q: { queue: string }) => q.queue)).toEqual([
      'events-assessment',
      'events-certification',
      'events-enrollment',
      'events-gateway',
      'events-learning',
      'events-live',
      'events-media',
      'events-notifications',
      'jobs-assessment',
      'jobs-certification',
      'jobs-enrollment',
      'jobs-learning',
      'jobs-media',
      'jobs-notifications',
    ]);
    expect(QUEUES).toEqual(a.queueHealth.queues.map((q: { queue: string }) => q.queue));
    const byName = new Map(a.queueHealth.queues.map((q: { queue: string; failed: number }) => [q.queue, q.failed]));
    expect(byName.get('events-notifications')).toBe(4);
    expect(byName.get('jobs-enrollment')).toBe(1);
    expect(byName.get('events-learning')).toBe(1);
    expect(a.queueHealth.queues.find((q: { queue: string }) => q.queue === 'jobs-enrollment').id).toBe(globalId('QueueCounts', 'jobs-enrollment'));
    // Refetchable by id, by operators only.
    const refs = [globalId('QueueCounts', 'jobs-enrollment'), globalId('QueueCounts', 'jobs-nowhere')].map((id) => ({ __typename: 'QueueCounts', id }));
    expect((await ok(h, B.actors.admin, Q.entities, { representations: refs }))._entities).toEqual([
      { __typename: 'QueueCounts', id: refs[0]!.id, queue: 'jobs-enrollment', failed: 1 },
      null,
    ]);
    expect((await ok(h, A.actors.learner, Q.entities, { representations: refs.slice(0, 1) }))._entities).toEqual([null]);
  });

  it('shows an ORG_ADMIN their own organization’s dead letters of every queue, and nobody else’s', async () => {
    const a = await ok(h, A.actors.admin, Q.queueHealth);
    expect(letters(a)).toEqual([importId, poisonA].sort());
    expect(a.queueHealth.deadLetters.totalCount).toBe(2);
    const poison = nodes(a).find((n) => n.jobId === poisonA)!;
    expect(poison).toMatchObject({
      id: deadLetterId('events-notifications', poisonA),
      organization: org(A),
      queue: 'events-notifications',
      jobName: 'catalog.CoursePublished',
      error: 'catalog.CoursePublished v99 is not understood (v1 is)',
      attempts: 1,
      replayCount: 0,
      replayedAt: null,
    });
    expect(nodes(a).find((n) => n.jobId === importId)).toMatchObject({ queue: 'jobs-enrollment', jobName: 'import-roster', error: 'identity is unreachable', attempts: 3, organization: org(A) });
    const b = await ok(h, B.actors.admin, Q.queueHealth);
    expect(letters(b)).toEqual([learningEvent.id, poisonB].sort());
    expect(nodes(b).find((n) => n.jobId === learningEvent.id)).toMatchObject({ queue: 'events-learning', jobName: 'learning.LessonCompleted' });
  });

  it('filters by queue and job name', async () => {
    expect(letters(await ok(h, A.actors.admin, Q.queueHealth, { filter: { queues: ['jobs-enrollment'] } }))).toEqual([importId]);
    expect(letters(await ok(h, A.actors.admin, Q.queueHealth, { filter: { jobName: 'catalog.CoursePublished' } }))).toEqual([poisonA]);
    expect(letters(await ok(h, A.actors.admin, Q.queueHealth, { filter: { queues: ['events-learning'] } }))).toEqual([]);
    expect(errorCode(await call(h, A.actors.admin, Q.queueHealth, { filter: { queues: ['events-nowhere'] } }))).toBe('BAD_USER_INPUT');
  });

  it('shows a SUPER_ADMIN their organization’s letters and those of no organization, paged both ways', async () => {
    const superAdmin = actor({ tenantId: A.tenantId, roles: [], superAdmin: true });
    const all = await ok(h, superAdmin, Q.queueHealth);
    expect(letters(all)).toEqual([importId, orphan, poisonA].sort());
    expect(nodes(all).find((n) => n.jobId === orphan)!.organization).toBeNull();
    const nowhere = actor({ tenantId: null, roles: [], superAdmin: true });
    expect(letters(await ok(h, nowhere, Q.queueHealth))).toEqual([orphan]);
    // pages across the queues, newest first, without repeats; backward gives the same list
    const order = nodes(all).map((n) => n.jobId);
    const forward: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 3; i++) {
      const page: Data = await ok(h, superAdmin, Q.queueHealth, { first: 1, after });
      forward.push(...nodes(page).map((n) => n.jobId));
      expect(page.queueHealth.deadLetters.pageInfo.hasNextPage).toBe(i < 2);
      expect(page.queueHealth.deadLetters.totalCount).toBe(3);
      after = page.queueHealth.deadLetters.pageInfo.endCursor;
    }
    expect(forward).toEqual(order);
    const last2 = await ok(h, superAdmin, Q.queueHealth, { last: 2 });
    expect(nodes(last2).map((n) => n.jobId)).toEqual(order.slice(1));
    expect(last2.queueHealth.deadLetters.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const first1 = await ok(h, superAdmin, Q.queueHealth, { last: 2, before: last2.queueHealth.deadLetters.pageInfo.startCursor });
    expect(nodes(first1).map((n) => n.jobId)).toEqual(order.slice(0, 1));
    expect(errorCode(await call(h, superAdmin, Q.queueHealth, { after: 'bm9wZQ' }))).toBe('BAD_USER_INPUT');
  });

  it('answers a DeadLetter reference for operators who may see it only', async () => {
    const ref = { __typename: 'DeadLetter', id: deadLetterId('jobs-enrollment', importId) };
    expect((await ok(h, A.actors.admin, Q.entities, { representations: [ref] }))._entities).toEqual([{ __typename: 'DeadLetter', id: ref.id, queue: 'jobs-enrollment', jobId: importId }]);
    for (const who of [B.actors.admin, A.actors.learner]) expect((await ok(h, who, Q.entities, { representations: [ref] }))._entities).toEqual([null]);
  });
});

describe('replayDeadLetter', () => {
  it('runs a letter again after the fix, once per idempotency key, and applies the event once', async () => {
    const ghostAdmin = actor({ tenantId: ghost, roles: ['ORG_ADMIN'] });
    const [letter] = nodes(await ok(h, ghostAdmin, Q.queueHealth));
    expect(letter).toMatchObject({ jobId: ghostEvent.id, attempts: 3, error: expect.stringContaining('answered 404') });
    // Another organization's admin cannot see or replay it.
    const foreign = (await ok(h, A.actors.admin, Q.replay, { input: { id: letter!.id, idempotencyKey: idem() } })).replayDeadLetter;
    expect(foreign).toEqual({ deadLetter: null, errors: [{ code: 'DEAD_LETTER_NOT_FOUND', message: 'No dead letter of yours has this id', path: ['input', 'id'] }] });
    // The fix: the organization now exists in identity.
    await h.admin.query(`insert into identity.organizations (id, slug, name) values ($1, 'ghost-org', 'Ghost Org')`, [ghost]);
    const input = { id: letter!.id, idempotencyKey: idem() };
    const replayed = (await ok(h, ghostAdmin, Q.replay, { input })).replayDeadLetter;
    expect(replayed).toMatchObject({ deadLetter: { id: letter!.id, queue: 'events-notifications', replayCount: 1, replayedAt: expect.any(String) }, errors: [] });
    const me = actor({ userId: ghostUser, tenantId: ghost, roles: ['LEARNER'] });
    const inbox = await until(() => ok(h, me, Q.inbox), (d) => d.notifications.edges.length > 0);
    expect(inbox.notifications.edges[0].node).toMatchObject({ title: 'Welcome to Ghost Org' });
    expect((await settled(eventsQueue(h), ghostEvent.id)).state).toBe('completed');
    // The same key again: the stored result, nothing replayed.
    expect((await ok(h, ghostAdmin, Q.replay, { input })).replayDeadLetter).toEqual(replayed);
    // A new key: it was replayed already (and is no dead letter any more).
    const again = (await ok(h, ghostAdmin, Q.replay, { input: { ...input, idempotencyKey: idem() } })).replayDeadLetter;
    expect(again).toMatchObject({ deadLetter: null, errors: [{ code: 'DEAD_LETTER_ALREADY_REPLAYED', path: ['input', 'id'] }] });
    expect(nodes(await ok(h, ghostAdmin, Q.queueHealth))).toEqual([]);
    expect((await ok(h, me, Q.inbox)).notifications.edges).toHaveLength(1);
  });

  it('re-runs a failed job of another context’s queue (a roster import resumes)', async () => {
    const id = deadLetterId('jobs-enrollment', importId);
    // Not B's to replay.
    expect((await ok(h, B.actors.admin, Q.replay, { input: { id, idempotencyKey: idem() } })).replayDeadLetter.errors[0].code).toBe('DEAD_LETTER_NOT_FOUND');
    importFixed = true;
    const runsBefore = importRuns.length;
    const r = (await ok(h, A.actors.admin, Q.replay, { input: { id, idempotencyKey: idem() } })).replayDeadLetter;
    expect(r).toMatchObject({ deadLetter: { id, queue: 'jobs-enrollment', jobId: importId, replayCount: 1 }, errors: [] });
    const { state, job } = await settled(h.queues('jobs-enrollment'), importId);
    expect(state).toBe('completed');
    expect(job.returnvalue).toEqual({ resumed: importId });
    expect(importRuns.length).toBe(runsBefore + 1);
    expect(letters(await ok(h, A.actors.admin, Q.queueHealth))).toEqual([poisonA]);
    expect((await ok(h, A.actors.admin, Q.replay, { input: { id, idempotencyKey: idem() } })).replayDeadLetter.errors[0].code).toBe('DEAD_LETTER_ALREADY_REPLAYED');
  });

  it('lets a SUPER_ADMIN replay a letter of no organization; one that fails again is listed again, counted', async () => {
    const superAdmin = actor({ tenantId: A.tenantId, roles: [], superAdmin: true });
    const id = deadLetterId('events-notifications', orphan);
    expect((await ok(h, A.actors.admin, Q.replay, { input: { id, idempotencyKey: idem() } })).replayDeadLetter.errors[0].code).toBe('DEAD_LETTER_NOT_FOUND');
    const r = (await ok(h, superAdmin, Q.replay, { input: { id, idempotencyKey: idem() } })).replayDeadLetter;
    expect(r).toMatchObject({ deadLetter: { id, replayCount: 1 }, errors: [] });
    // v99 is still not understood: it fails again at once and is a dead letter anew.
    await until(() => ok(h, superAdmin, Q.queueHealth, { filter: { queues: ['events-notifications'] } }), (d) => nodes(d).some((n) => n.jobId === orphan));
    const listed = nodes(await ok(h, superAdmin, Q.queueHealth)).find((n) => n.jobId === orphan);
    expect(listed).toMatchObject({ id, replayCount: 1, organization: null });
    expect((await ok(h, superAdmin, Q.replay, { input: { id, idempotencyKey: idem() } })).replayDeadLetter.deadLetter).toMatchObject({ replayCount: 2 });
  });

  it('answers unknown ids as a payload error, and ids that are no DeadLetter ids as bad input', async () => {
    const unknown = (await ok(h, A.actors.admin, Q.replay, { input: { id: deadLetterId('events-notifications', randomUUID()), idempotencyKey: idem() } })).replayDeadLetter;
    expect(unknown.errors[0].code).toBe('DEAD_LETTER_NOT_FOUND');
    for (const bad of ['nope', randomUUID(), globalId('DeadLetter', 'events-nowhere', 'eA'), globalId('Notification', randomUUID())]) {
      const r = await call(h, A.actors.admin, Q.replay, { input: { id: bad, idempotencyKey: idem() } });
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    }
  });
});

describe('while Redis is down', () => {
  it('answers SERVICE_UNAVAILABLE with a retry hint, not an internal error', async () => {
    // A second subgraph on the same database whose producer connection to Redis is cut.
    const cut = await startNotifications(h.env);
    try {
      await cut.runtime.close();
      for (const [query, variables] of [
        [Q.queueHealth, {}],
        [Q.replay, { input: { id: deadLetterId('jobs-enrollment', randomUUID()), idempotencyKey: idem() } }],
      ] as const) {
        const r = await call(cut, A.actors.admin, query, variables);
        expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: expect.any(Number) });
      }
    } finally {
      await cut.close();
    }
  });
});
