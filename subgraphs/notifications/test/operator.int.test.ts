// The operator view: queue counts and dead letters for ORG_ADMIN (their organization) and
// SUPER_ADMIN (theirs plus those of no organization), and replaying a dead letter after a fix.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor } from '@lectern/testkit';
import { CoursePublished } from '@lectern/contracts/catalog';
import { MemberAdded } from '@lectern/contracts/identity';
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
  await until(() => h.admin.query('select count(*)::int as n from notifications.dead_letters'), (r) => r.rows[0].n === 4);
});
afterAll(async () => {
  await h?.close();
});

const letters = (d: Data) => d.queueHealth.deadLetters.edges.map((e: { node: { jobId: string } }) => e.node.jobId).sort();

describe('queueHealth', () => {
  it('is for ORG_ADMIN and SUPER_ADMIN only', async () => {
    for (const who of [A.actors.learner, A.actors.instructor, actor({ tenantId: A.tenantId, roles: ['SUPPORT_READONLY'] })]) {
      expect(errorCode(await call(h, who, Q.queueHealth))).toBe('FORBIDDEN');
      expect(errorCode(await call(h, who, Q.replay, { input: { id: randomUUID(), idempotencyKey: idem() } }))).toBe('FORBIDDEN');
    }
    const key = actor({ kind: 'api_key', userId: null, tenantId: A.tenantId, apiKeyId: randomUUID(), scopes: ['catalog:write'] });
    expect(errorCode(await call(h, key, Q.queueHealth))).toBe('FORBIDDEN');
    expect(errorCode(await call(h, actor({ kind: 'anonymous', userId: null }), Q.queueHealth))).toBe('UNAUTHENTICATED');
  });

  it('shows an ORG_ADMIN the counts of both queues and their own organization’s dead letters only', async () => {
    const a = await ok(h, A.actors.admin, Q.queueHealth);
    expect(a.queueHealth.queues.map((q: { queue: string }) => q.queue)).toEqual(['events-notifications', 'jobs-notifications']);
    expect(a.queueHealth.queues[0].failed).toBeGreaterThanOrEqual(4);
    expect(letters(a)).toEqual([poisonA]);
    expect(a.queueHealth.deadLetters.edges[0].node).toMatchObject({
      organizationId: A.tenantId,
      queue: 'events-notifications',
      jobName: 'catalog.CoursePublished',
      error: 'catalog.CoursePublished v99 is not understood (v1 is)',
      attempts: 1,
      replayCount: 0,
      replayedAt: null,
    });
    expect(letters(await ok(h, B.actors.admin, Q.queueHealth))).toEqual([poisonB]);
  });

  it('shows a SUPER_ADMIN their organization’s letters and those of no organization', async () => {
    const superAdmin = actor({ tenantId: A.tenantId, roles: [], superAdmin: true });
    expect(letters(await ok(h, superAdmin, Q.queueHealth))).toEqual([orphan, poisonA].sort());
    const nowhere = actor({ tenantId: null, roles: [], superAdmin: true });
    expect(letters(await ok(h, nowhere, Q.queueHealth))).toEqual([orphan]);
    // pages across both, newest first, without repeats
    const first = await ok(h, superAdmin, Q.queueHealth, { first: 1 });
    expect(first.queueHealth.deadLetters.pageInfo.hasNextPage).toBe(true);
    const second = await ok(h, superAdmin, Q.queueHealth, { first: 1, after: first.queueHealth.deadLetters.pageInfo.endCursor });
    expect([...letters(first), ...letters(second)].sort()).toEqual([orphan, poisonA].sort());
    expect(second.queueHealth.deadLetters.pageInfo.hasNextPage).toBe(false);
  });
});

describe('replayDeadLetter', () => {
  it('runs a letter again after the fix, once per idempotency key, and applies the event once', async () => {
    const ghostAdmin = actor({ tenantId: ghost, roles: ['ORG_ADMIN'] });
    const [letter] = (await ok(h, ghostAdmin, Q.queueHealth)).queueHealth.deadLetters.edges.map((e: { node: unknown }) => e.node);
    expect(letter).toMatchObject({ jobId: ghostEvent.id, attempts: 3, error: expect.stringContaining('answered 404') });
    // Another organization's admin cannot see or replay it.
    expect(errorCode(await call(h, A.actors.admin, Q.replay, { input: { id: letter.id, idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    // The fix: the organization now exists in identity.
    await h.admin.query(`insert into identity.organizations (id, slug, name) values ($1, 'ghost-org', 'Ghost Org')`, [ghost]);
    const input = { id: letter.id, idempotencyKey: idem() };
    const replayed = (await ok(h, ghostAdmin, Q.replay, { input })).replayDeadLetter.deadLetter;
    expect(replayed).toMatchObject({ id: letter.id, replayCount: 1, replayedAt: expect.any(String) });
    const me = actor({ userId: ghostUser, tenantId: ghost, roles: ['LEARNER'] });
    const inbox = await until(() => ok(h, me, Q.inbox), (d) => d.notifications.edges.length > 0);
    expect(inbox.notifications.edges[0].node).toMatchObject({ title: 'Welcome to Ghost Org' });
    // The same key again: the stored result, no second job.
    expect((await ok(h, ghostAdmin, Q.replay, { input })).replayDeadLetter.deadLetter.replayCount).toBe(1);
    // A new key replays it again, but the event was applied: still one welcome item.
    expect((await ok(h, ghostAdmin, Q.replay, { input: { ...input, idempotencyKey: idem() } })).replayDeadLetter.deadLetter.replayCount).toBe(2);
    await settled(eventsQueue(h), `${ghostEvent.id}-replay-2`);
    expect((await ok(h, me, Q.inbox)).notifications.edges).toHaveLength(1);
  });

  it('lets a SUPER_ADMIN replay a letter of no organization', async () => {
    const superAdmin = actor({ tenantId: A.tenantId, roles: [], superAdmin: true });
    const [letter] = (await ok(h, actor({ tenantId: null, roles: [], superAdmin: true }), Q.queueHealth)).queueHealth.deadLetters.edges.map(
      (e: { node: { id: string } }) => e.node,
    );
    expect(errorCode(await call(h, A.actors.admin, Q.replay, { input: { id: letter.id, idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    const r = (await ok(h, superAdmin, Q.replay, { input: { id: letter.id, idempotencyKey: idem() } })).replayDeadLetter.deadLetter;
    expect(r).toMatchObject({ id: letter.id, replayCount: 1 });
  });

  it('treats unknown ids as missing', async () => {
    expect(errorCode(await call(h, A.actors.admin, Q.replay, { input: { id: randomUUID(), idempotencyKey: idem() } }))).toBe('NOT_FOUND');
    expect(errorCode(await call(h, A.actors.admin, Q.replay, { input: { id: 'nope', idempotencyKey: idem() } }))).toBe('NOT_FOUND');
  });
});
