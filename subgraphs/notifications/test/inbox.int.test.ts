// The inbox and preferences through GraphQL: the caller's own notifications as a Relay
// connection, unread count, idempotent mark-read and preference changes, and isolation
// between people and organizations. Plus the subgraph's refusal of callers not sent by the gateway.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, gql } from '@lectern/testkit';
import { globalId } from '@lectern/kernel';
import { seedNotifications } from '../src/testing/index.ts';
import { call, errorCode, idem, ok, Q, startHarness, type Data, type Harness } from './helpers.ts';

let h: Harness;
const A = randomUUID();
const B = randomUUID();
const alice = actor({ tenantId: A, roles: ['LEARNER'] });
const bob = actor({ tenantId: A, roles: ['LEARNER'] });
const carol = actor({ tenantId: B, roles: ['ORG_ADMIN'] });
/** Alice, signed in to organization B instead. */
const aliceInB = actor({ userId: alice.userId, tenantId: B, roles: ['LEARNER'] });
let aliceIds: string[] = []; // global ids, oldest first
let bobIds: string[] = [];
let aliceUuids: string[] = []; // the same, as stored
const gid = (uuid: string) => globalId('Notification', uuid);

beforeAll(async () => {
  h = await startHarness('notifinbox', { worker: false });
  const orm = h.notifications.deps.orm;
  aliceUuids = await seedNotifications(orm, { tenantId: A, userId: alice.userId!, count: 130, category: 'COURSES' });
  aliceIds = aliceUuids.map(gid);
  bobIds = (await seedNotifications(orm, { tenantId: A, userId: bob.userId!, count: 3 })).map(gid);
  await seedNotifications(orm, { tenantId: B, userId: alice.userId!, count: 2 });
  await seedNotifications(orm, { tenantId: B, userId: carol.userId!, count: 1 });
});
afterAll(async () => {
  await h?.close();
});

describe('access', () => {
  it('refuses requests without a valid gateway actor context, _service and _entities included', async () => {
    for (const query of ['{ unreadNotificationCount }', '{ _service { sdl } }', '{ _entities(representations: [{__typename: "Course", id: "x"}]) { __typename } }']) {
      const missing = await gql(h.url, query);
      expect(missing.status).toBe(401);
      expect(missing.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const forged = await gql(h.url, query, {}, { headers: { 'x-lectern-actor': 'eyJhbGciOiJub25lIn0.eyJhY3QiOnt9fQ.', 'x-tenant-id': A } });
      expect(forged.status).toBe(401);
    }
  });

  it('has an inbox for people signed in to an organization only', async () => {
    expect(errorCode(await call(h, actor({ kind: 'anonymous', userId: null }), Q.count))).toBe('UNAUTHENTICATED');
    expect(errorCode(await call(h, actor({ tenantId: null, roles: [] }), Q.count))).toBe('UNAUTHENTICATED');
    const key = actor({ kind: 'api_key', userId: null, tenantId: A, apiKeyId: randomUUID(), scopes: ['catalog:read'] });
    expect(errorCode(await call(h, key, Q.count))).toBe('FORBIDDEN');
  });
});

describe('notifications', () => {
  it('pages through the caller’s inbox newest first, without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const data: Data = await ok(h, alice, Q.inbox, { first: 40, after });
      const page = data.notifications;
      seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      expect(page.nodes.map((n: { id: string }) => n.id)).toEqual(page.edges.map((e: { node: { id: string } }) => e.node.id));
      expect(page.pageInfo.hasPreviousPage).toBe(pages > 0);
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(4);
    expect(seen).toEqual([...aliceIds].reverse());
  });

  it('pages backward with last/before, in list order, and counts the whole list', async () => {
    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    for (;;) {
      const data: Data = await ok(h, alice, Q.inbox, { last: 40, before });
      const page = data.notifications;
      expect(page.totalCount).toBe(130);
      seen.unshift(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      expect(page.pageInfo.hasNextPage).toBe(pages > 0);
      pages++;
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(pages).toBe(4);
    expect(seen).toEqual([...aliceIds].reverse());
    // The oldest two, then forward again from the first of them.
    const oldest = (await ok(h, alice, Q.inbox, { last: 2 })).notifications;
    expect(oldest.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([aliceIds[1], aliceIds[0]]);
    expect(oldest.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const around = (await ok(h, alice, Q.inbox, { first: 1, after: oldest.pageInfo.startCursor })).notifications;
    expect(around.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([aliceIds[0]]);
    expect(errorCode(await call(h, alice, Q.inbox, { first: 1, last: 1 }))).toBe('BAD_USER_INPUT');
  });

  it('filters by read state and category, and counts what the filter covers', async () => {
    const courses = (await ok(h, alice, Q.inbox, { first: 1, filter: { categories: ['COURSES'] } })).notifications;
    expect(courses.totalCount).toBe(130);
    expect((await ok(h, alice, Q.inbox, { first: 1, filter: { categories: ['SYSTEM', 'MEMBERSHIP'] } })).notifications).toMatchObject({ edges: [], totalCount: 0 });
    expect((await ok(h, bob, Q.inbox, { first: 1, filter: { categories: ['SYSTEM'], unread: true } })).notifications.totalCount).toBe(3);
    expect((await ok(h, bob, Q.inbox, { first: 1, filter: { unread: false } })).notifications.totalCount).toBe(0);
  });

  it('answers a Notification reference for its recipient only, by global id', async () => {
    const refs = [aliceIds[5], bobIds[0], aliceUuids[5], globalId('Course', aliceUuids[5]!)].map((id) => ({ __typename: 'Notification', id }));
    const asAlice = (await ok(h, alice, Q.entities, { representations: refs }))._entities;
    expect(asAlice).toEqual([{ __typename: 'Notification', id: aliceIds[5], title: 'Seeded notification 6', body: 'Seeded for a test.', category: 'COURSES', course: null }, null, null, null]);
    expect((await ok(h, aliceInB, Q.entities, { representations: refs.slice(0, 1) }))._entities).toEqual([null]);
    expect((await ok(h, bob, Q.entities, { representations: refs.slice(0, 2) }))._entities).toEqual([null, expect.objectContaining({ id: bobIds[0] })]);
  });

  it('adds the unread count to identity’s Viewer, for the caller themself only', async () => {
    const mine = { __typename: 'Viewer', id: globalId('Viewer', bob.userId!) };
    const theirs = { __typename: 'Viewer', id: globalId('Viewer', alice.userId!) };
    const raw = { __typename: 'Viewer', id: bob.userId! };
    expect((await ok(h, bob, Q.entities, { representations: [mine, theirs, raw] }))._entities).toEqual([
      { __typename: 'Viewer', id: mine.id, unreadNotificationCount: 3 },
      null,
      null,
    ]);
    const key = actor({ kind: 'api_key', userId: null, tenantId: A, apiKeyId: randomUUID(), scopes: ['catalog:read'] });
    expect((await ok(h, key, Q.entities, { representations: [mine] }))._entities).toEqual([null]);
  });

  it('caps pages at 100 and rejects foreign cursors', async () => {
    expect((await ok(h, alice, Q.inbox, { first: 100 })).notifications.edges).toHaveLength(100);
    expect(errorCode(await call(h, alice, Q.inbox, { first: 101 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await call(h, alice, Q.inbox, { after: 'bm90IGEgY3Vyc29y' }))).toBe('BAD_USER_INPUT');
  });

  it('costs the same SQL for a page of 1 as for a page of 100', async () => {
    const stats = h.notifications.deps.stats;
    const cost = async (first: number) => {
      const before = stats.statements;
      await ok(h, alice, Q.inbox, { first });
      return stats.statements - before;
    };
    await cost(1); // warm-up
    expect(await cost(100)).toBe(await cost(1));
  });

  it('shows nobody else’s: another person’s, or another organization’s, look missing', async () => {
    const bobs = await ok(h, bob, Q.inbox);
    expect(bobs.notifications.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([...bobIds].reverse());
    expect(bobs.unreadNotificationCount).toBe(3);
    const inB = await ok(h, aliceInB, Q.inbox);
    expect(inB.notifications.edges).toHaveLength(2);
    expect(inB.unreadNotificationCount).toBe(2);
    expect(inB.notifications.edges.some((e: { node: { id: string } }) => aliceIds.includes(e.node.id))).toBe(false);
    expect((await ok(h, carol, Q.inbox)).unreadNotificationCount).toBe(1);
  });
});

describe('markNotificationsRead', () => {
  it('marks the given ones read, once per idempotency key', async () => {
    const ids = aliceIds.slice(-3);
    const input = { ids, idempotencyKey: idem() };
    const first = (await ok(h, alice, Q.markRead, { input })).markNotificationsRead;
    expect(first).toMatchObject({ markedCount: 3, unreadCount: 127, errors: [] });
    expect(first.notifications.map((n: { id: string; read: boolean }) => [n.id, n.read])).toEqual(ids.map((id) => [id, true]));
    const replay = (await ok(h, alice, Q.markRead, { input })).markNotificationsRead;
    expect(replay).toMatchObject({ markedCount: 3, unreadCount: 127 });
    // marking again with a new key changes nothing
    expect((await ok(h, alice, Q.markRead, { input: { ids, idempotencyKey: idem() } })).markNotificationsRead.markedCount).toBe(0);
    // the same key with other input is refused
    const reused = await call(h, alice, Q.markRead, { input: { ids: aliceIds.slice(0, 1), idempotencyKey: input.idempotencyKey } });
    expect(reused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
    const unread = await ok(h, alice, Q.inbox, { first: 3, filter: { unread: true } });
    expect(unread.notifications.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(aliceIds.slice(-6, -3).reverse());
  });

  it('treats another person’s and another organization’s ids as not found, and leaves them unread', async () => {
    const r = (await ok(h, alice, Q.markRead, { input: { ids: [aliceIds[0], bobIds[0], gid(randomUUID())], idempotencyKey: idem() } })).markNotificationsRead;
    expect(r.notifications.map((n: { id: string }) => n.id)).toEqual([aliceIds[0]]);
    expect(r.errors).toEqual([{ code: 'NOTIFICATION_NOT_FOUND', message: '2 of the notifications were not found; the others are marked read', path: ['input', 'ids'] }]);
    // Ids that are not Notification ids at all (a raw UUID, another type's) are bad input, naming the field.
    for (const bad of ['not-an-id', aliceUuids[0]!, globalId('Course', aliceUuids[0]!)]) {
      const refused = await call(h, alice, Q.markRead, { input: { ids: [bad], idempotencyKey: idem() } });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids' });
    }
    expect((await ok(h, bob, Q.count)).unreadNotificationCount).toBe(3);
    const fromB = (await ok(h, aliceInB, Q.markRead, { input: { ids: [aliceIds[1]], idempotencyKey: idem() } })).markNotificationsRead;
    expect(fromB).toMatchObject({ notifications: [], markedCount: 0, errors: [{ code: 'NOTIFICATION_NOT_FOUND' }] });
    const row = await h.admin.query('select read_at from notifications.notifications where id = $1', [aliceUuids[1]]);
    expect(row.rows[0].read_at).toBeNull();
  });

  it('marks all of the caller’s notifications in this organization read', async () => {
    const r = (await ok(h, aliceInB, Q.markRead, { input: { all: true, idempotencyKey: idem() } })).markNotificationsRead;
    expect(r).toMatchObject({ notifications: [], markedCount: 2, unreadCount: 0, errors: [] });
    expect((await ok(h, alice, Q.count)).unreadNotificationCount).toBe(126); // A untouched
  });

  it('wants either ids or all', async () => {
    for (const input of [{}, { ids: [aliceIds[0]], all: true }, { ids: [] }, { all: false }, { ids: Array.from({ length: 101 }, () => gid(randomUUID())) }]) {
      expect(errorCode(await call(h, alice, Q.markRead, { input: { ...input, idempotencyKey: idem() } }))).toBe('BAD_USER_INPUT');
    }
  });
});

describe('preferences', () => {
  const prefId = (who: { userId: string | null; tenantId: string | null }, category: string, channel: string) =>
    globalId('NotificationPreference', who.tenantId!, who.userId!, category, channel);

  it('lists every category and channel with the defaults, each with its global id', async () => {
    const prefs = (await ok(h, bob, Q.preferences)).notificationPreferences;
    const row = (category: string, channel: string, frequency: string) => ({ id: prefId(bob, category, channel), category, channel, frequency, isDefault: true });
    expect(prefs).toEqual([
      row('COURSES', 'IN_APP', 'IMMEDIATE'),
      row('COURSES', 'EMAIL', 'WEEKLY'),
      row('MEMBERSHIP', 'IN_APP', 'IMMEDIATE'),
      row('MEMBERSHIP', 'EMAIL', 'IMMEDIATE'),
      row('SYSTEM', 'IN_APP', 'IMMEDIATE'),
      row('SYSTEM', 'EMAIL', 'IMMEDIATE'),
      row('ENROLLMENT_CONFIRMED', 'IN_APP', 'IMMEDIATE'),
      row('ENROLLMENT_CONFIRMED', 'EMAIL', 'IMMEDIATE'),
      row('WAITLIST_PROMOTED', 'IN_APP', 'IMMEDIATE'),
      row('WAITLIST_PROMOTED', 'EMAIL', 'IMMEDIATE'),
      row('COURSE_COMPLETED', 'IN_APP', 'IMMEDIATE'),
      row('COURSE_COMPLETED', 'EMAIL', 'IMMEDIATE'),
      row('CERTIFICATE_ISSUED', 'IN_APP', 'IMMEDIATE'),
      row('CERTIFICATE_ISSUED', 'EMAIL', 'IMMEDIATE'),
    ]);
    // Ids are distinct per person and organization.
    expect(new Set([...prefs.map((p: { id: string }) => p.id), prefId(alice, 'COURSES', 'IN_APP'), prefId({ ...bob, tenantId: B }, 'COURSES', 'IN_APP')]).size).toBe(16);
  });

  it('changes one choice idempotently, for the caller in this organization only', async () => {
    const input = { category: 'COURSES', channel: 'EMAIL', frequency: 'DAILY', idempotencyKey: idem() };
    const r = (await ok(h, bob, Q.setPreference, { input })).setNotificationPreference;
    expect(r.preference).toEqual({ id: prefId(bob, 'COURSES', 'EMAIL'), category: 'COURSES', channel: 'EMAIL', frequency: 'DAILY', isDefault: false });
    expect(r.preferences[1]).toEqual({ category: 'COURSES', channel: 'EMAIL', frequency: 'DAILY', isDefault: false });
    expect((await ok(h, bob, Q.setPreference, { input })).setNotificationPreference.preference).toEqual(r.preference);
    const reused = await call(h, bob, Q.setPreference, { input: { ...input, frequency: 'OFF' } });
    expect(reused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
    // Alice's, and Bob's own in another organization, are untouched.
    expect((await ok(h, alice, Q.preferences)).notificationPreferences[1]).toMatchObject({ frequency: 'WEEKLY', isDefault: true });
    const bobInB = actor({ userId: bob.userId, tenantId: B, roles: ['LEARNER'] });
    expect((await ok(h, bobInB, Q.preferences)).notificationPreferences[1]).toMatchObject({ frequency: 'WEEKLY', isDefault: true });
  });

  it('answers a NotificationPreference reference for its owner in that organization only', async () => {
    const refs = [prefId(bob, 'COURSES', 'EMAIL'), prefId(alice, 'COURSES', 'EMAIL'), prefId({ ...bob, tenantId: B }, 'COURSES', 'EMAIL'), prefId(bob, 'NOPE', 'EMAIL')].map((id) => ({
      __typename: 'NotificationPreference',
      id,
    }));
    expect((await ok(h, bob, Q.entities, { representations: refs }))._entities).toEqual([
      { __typename: 'NotificationPreference', id: refs[0]!.id, category: 'COURSES', channel: 'EMAIL', frequency: 'DAILY' },
      null,
      null,
      null,
    ]);
  });

  it('refuses digests for in-app notifications as an expected outcome', async () => {
    const r = (await ok(h, bob, Q.setPreference, { input: { category: 'SYSTEM', channel: 'IN_APP', frequency: 'WEEKLY', idempotencyKey: idem() } })).setNotificationPreference;
    expect(r.preference).toBeNull();
    expect(r.errors).toEqual([{ code: 'FREQUENCY_NOT_SUPPORTED', message: 'In-app notifications are shown at once or not at all: use IMMEDIATE or OFF', path: ['input', 'frequency'] }]);
    expect(r.preferences[4]).toMatchObject({ category: 'SYSTEM', channel: 'IN_APP', frequency: 'IMMEDIATE' });
  });
});
