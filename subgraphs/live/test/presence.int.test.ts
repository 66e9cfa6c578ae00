// Presence through leases: the LeaseHandler the kernel and the gateway drive (join at
// admission, renew, release, expiry swept within the TTL), each transition published as
// PresenceChanged on the session's channel and recorded as an attendance interval while LIVE;
// then the same through the kernel's /subscriptions/admit and a direct graphql-ws subscriber.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { idOf } from '@lectern/kernel';
import { admit, serviceHeaders, subscribeSubgraph } from '@lectern/testkit';
import { PresenceStore } from '../src/testing/index.ts';
import { enroll, gid, idem, M, ok, organization, scheduleSession, startHarness, startSession, until, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;
let listener: Redis;
const heard: { channel: string; event: Record<string, unknown> }[] = [];

beforeAll(async () => {
  h = await startHarness('livepresence');
  org = await organization(h);
  listener = new Redis(h.env.REDIS_URL);
  await listener.psubscribe(`${h.env.REDIS_PREFIX}sub:live:*`);
  listener.on('pmessage', (_p, channel, message) => heard.push({ channel, event: JSON.parse(message) as Record<string, unknown> }));
});
afterAll(async () => {
  listener?.disconnect();
  await h?.close();
});

const PARTICIPANTS = `query($id: ID!) { session(id: $id) { participants { user { id } since } } }`;
const participants = async (id: string) => (await ok(h, org.instructor, PARTICIPANTS, { id })).session.participants.map((p: { user: { id: string } }) => p.user.id);
const presenceEvents = (uuid: string) => heard.filter((e) => e.channel === `${h.env.REDIS_PREFIX}sub:live:${org.tenantId}:session:${uuid}` && e.event.type === 'PresenceChanged').map((e) => [e.event.userId, e.event.present]);
const intervals = async (uuid: string) => (await h.admin.query('select user_id, joined_at, left_at from live.attendance_intervals where session_id = $1 order by joined_at', [uuid])).rows;

describe('presence leases', () => {
  it('is present while one lease lives; the last release publishes the leave and closes the interval', async () => {
    const id = await scheduleSession(h, org);
    const uuid = idOf(id, 'Session')!;
    await startSession(h, org.instructor, id);
    const leases = h.live.runtime.presence;
    const [a, b] = [randomUUID(), randomUUID()];
    await leases.join(a, org.tenantId, uuid, org.learner.userId!);
    await leases.join(b, org.tenantId, uuid, org.learner.userId!);
    expect(await participants(id)).toEqual([gid.user(org.learner.userId!)]);
    await leases.release([a]);
    expect(await participants(id)).toEqual([gid.user(org.learner.userId!)]);
    await leases.release([b, randomUUID()]);
    expect(await participants(id)).toEqual([]);
    await until(() => presenceEvents(uuid).length === 2);
    expect(presenceEvents(uuid)).toEqual([
      [org.learner.userId, true],
      [org.learner.userId, false],
    ]);
    const rows = await intervals(uuid);
    expect(rows).toHaveLength(1);
    expect(rows[0].left_at).not.toBeNull();
  });

  it('expires a lease that is not renewed within the TTL, keeps one that is', async () => {
    const id = await scheduleSession(h, org);
    const uuid = idOf(id, 'Session')!;
    const leases = h.live.runtime.presence;
    const [kept, lost] = [randomUUID(), randomUUID()];
    await leases.join(kept, org.tenantId, uuid, org.learner.userId!);
    await leases.join(lost, org.tenantId, uuid, org.learner2.userId!);
    const started = Date.now();
    // Renew one every ttl/3 (as the gateway does) until the other is swept.
    const renewals = setInterval(() => void leases.renew([kept]), (h.env.PRESENCE_TTL_SECONDS * 1000) / 3);
    try {
      await until(() => participants(id), (ids: string[]) => ids.length === 1, 10_000);
    } finally {
      clearInterval(renewals);
    }
    expect(Date.now() - started).toBeLessThan(h.env.PRESENCE_TTL_SECONDS * 1000 + 2000);
    expect(await participants(id)).toEqual([gid.user(org.learner.userId!)]);
    await until(() => presenceEvents(uuid).some(([u, p]) => u === org.learner2.userId && p === false));
    // Not LIVE: presence alone records no attendance.
    expect(await intervals(uuid)).toEqual([]);
    await leases.release([kept]);
  });

  it('a gateway that dies (its 200 leases stop being renewed) leaves no one present within the TTL', async () => {
    const id = await scheduleSession(h, org);
    const uuid = idOf(id, 'Session')!;
    await startSession(h, org.instructor, id);
    const people = await Promise.all(Array.from({ length: 200 }, async () => {
      const userId = randomUUID();
      await enroll(h, org.tenantId, org.offeringId, org.cohortA, userId);
      return userId;
    }));
    const started = Date.now();
    await Promise.all(people.map((userId) => h.live.runtime.presence.join(randomUUID(), org.tenantId, uuid, userId)));
    // Each joined (whether the first lease expired before the last joined depends on the machine).
    await until(() => presenceEvents(uuid).filter(([, present]) => present === true).length === 200);
    await until(() => participants(id), (p: string[]) => p.length === 0, 15_000);
    expect(Date.now() - started).toBeLessThan(h.env.PRESENCE_TTL_SECONDS * 1000 + 5000);
    await until(async () => (await h.admin.query('select count(*)::int as n from live.attendance_intervals where session_id = $1 and left_at is not null', [uuid])).rows[0].n === 200);
    await until(() => presenceEvents(uuid).filter(([, present]) => present === false).length === 200);
  });

  it('lets exactly one of two sweepers racing for an expired lease end it', async () => {
    const redis = new Redis(h.env.REDIS_URL, { keyPrefix: `${h.env.REDIS_PREFIX}race:` });
    try {
      // TTL 0: the lease is expired as soon as it starts (no waiting in the test).
      const [a, b] = [new PresenceStore(redis, { ttlSeconds: 0 }), new PresenceStore(redis, { ttlSeconds: 0 })];
      const [one, two] = [randomUUID(), randomUUID()];
      expect(await a.join(one, org.tenantId, randomUUID(), org.learner.userId!)).not.toBeNull();
      await b.join(two, org.tenantId, randomUUID(), org.learner2.userId!);
      const [x, y] = await Promise.all([a.sweep(), b.sweep()]);
      expect([...x, ...y].map((t) => [t.userId, t.present]).sort()).toEqual([[org.learner.userId, false], [org.learner2.userId, false]].sort());
      expect(await a.sweep()).toEqual([]);
      expect(await b.release([one, two])).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('opens an interval for people already present when the session starts', async () => {
    const id = await scheduleSession(h, org);
    const uuid = idOf(id, 'Session')!;
    const lease = randomUUID();
    await h.live.runtime.presence.join(lease, org.tenantId, uuid, org.learner2.userId!);
    await startSession(h, org.instructor, id);
    const rows = await intervals(uuid);
    expect(rows.map((r) => r.user_id)).toEqual([org.learner2.userId]);
    expect(rows[0].left_at).toBeNull();
    await ok(h, org.instructor, M.end, { input: { sessionId: id, idempotencyKey: idem() } });
    expect((await intervals(uuid))[0].left_at).not.toBeNull();
    await h.live.runtime.presence.release([lease]);
  });
});

describe('through the kernel', () => {
  const SUB = `subscription($id: ID!) { sessionEvents(sessionId: $id) { __typename ... on ChatMessagePosted { message { id body author { id } } } ... on PresenceChanged { participant { id } present } } }`;

  it('admits who may see the session with a lease, refuses anyone else like a missing session', async () => {
    const id = await scheduleSession(h, org, { cohortIds: [org.cohortA] });
    const uuid = idOf(id, 'Session')!;
    const ok1 = await admit(h.url, org.learner, SUB, { id });
    expect(ok1.channel, ok1.body).toBe(`session:${uuid}`);
    expect(ok1.lease?.ttlSeconds).toBe(h.env.PRESENCE_TTL_SECONDS);
    expect(await participants(id)).toEqual([gid.user(org.learner.userId!)]);
    const refused = await admit(h.url, org.learnerB, SUB, { id });
    const missing = await admit(h.url, org.learnerB, SUB, { id: gid.session(randomUUID()) });
    expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(refused.body).toBe(missing.body);
    // The gateway releases the lease through the internal route.
    const res = await fetch(h.url.replace(/\/graphql$/, '/subscriptions/leases'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...serviceHeaders('gateway', 'live', null) },
      body: JSON.stringify({ renew: [], release: [ok1.lease!.id] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ unknown: [] });
    expect(await participants(id)).toEqual([]);
  });

  it('streams chat and presence to a direct graphql-ws subscriber, who is present while subscribed', async () => {
    const id = await scheduleSession(h, org);
    const watcher = await subscribeSubgraph(h.url, org.instructor, SUB, { id }, { service: 'live' });
    try {
      const joined = await watcher.next();
      expect(joined.data?.sessionEvents).toEqual({ __typename: 'PresenceChanged', participant: { id: gid.user(org.instructor.userId!) }, present: true });
      const learner = await subscribeSubgraph(h.url, org.learner, SUB, { id }, { service: 'live' });
      expect((await watcher.next()).data?.sessionEvents).toMatchObject({ __typename: 'PresenceChanged', participant: { id: gid.user(org.learner.userId!) }, present: true });
      const posted = await ok(h, org.learner, M.post, { input: { sessionId: id, body: 'hi there', idempotencyKey: idem() } });
      expect((await watcher.next()).data?.sessionEvents).toEqual({
        __typename: 'ChatMessagePosted',
        message: { id: posted.postChatMessage.message.id, body: 'hi there', author: { id: gid.user(org.learner.userId!) } },
      });
      await learner.close();
      expect((await watcher.next()).data?.sessionEvents).toMatchObject({ __typename: 'PresenceChanged', participant: { id: gid.user(org.learner.userId!) }, present: false });
      const outsider = await subscribeSubgraph(h.url, org.outsider, SUB, { id }, { service: 'live' });
      const refused = await outsider.ended;
      expect('errors' in refused && refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      await outsider.close();
    } finally {
      await watcher.close();
    }
  });

  it('chatMessageAdded carries only new messages', async () => {
    const id = await scheduleSession(h, org);
    const sub = await subscribeSubgraph(h.url, org.learner, `subscription($id: ID!) { chatMessageAdded(sessionId: $id) { body author { id } } }`, { id }, { service: 'live' });
    try {
      await until(async () => (await participants(id)).length === 1);
      await ok(h, org.learner2, M.raise, { input: { sessionId: id, idempotencyKey: idem() } });
      await ok(h, org.learner2, M.post, { input: { sessionId: id, body: 'first', idempotencyKey: idem() } });
      expect((await sub.next()).data?.chatMessageAdded).toEqual({ body: 'first', author: { id: gid.user(org.learner2.userId!) } });
      expect(sub.pending).toBe(0);
    } finally {
      await sub.close();
    }
  });

  it('a gateway’s shared upstream holds no lease, and its events show no viewer-dependent values', async () => {
    const id = await scheduleSession(h, org);
    const shared = await subscribeSubgraph(
      h.url,
      org.instructor,
      `subscription($id: ID!) { sessionEvents(sessionId: $id) { __typename ... on SessionStatusChanged { status session { id viewerCanManage viewerMutedUntil attendance { percent } } } } }`,
      { id },
      { service: 'live', shared: true },
    );
    try {
      // Admitted (the instructor may see the session) but not present: the gateway holds the
      // leases. Hands go up and down until the stream hears them (it subscribes asynchronously).
      await until(async () => {
        await ok(h, org.learner, M.raise, { input: { sessionId: id, idempotencyKey: idem() } });
        await ok(h, org.learner, M.lower, { input: { sessionId: id, idempotencyKey: idem() } });
        return shared.pending > 0;
      });
      await ok(h, org.instructor, M.start, { input: { sessionId: id, idempotencyKey: idem() } });
      let event = (await shared.next()).data?.sessionEvents;
      while (event.__typename !== 'SessionStatusChanged') {
        expect(event.__typename).toMatch(/^Hand(Raised|Lowered)$/);
        event = (await shared.next()).data?.sessionEvents;
      }
      expect(event).toEqual({ __typename: 'SessionStatusChanged', status: 'LIVE', session: { id, viewerCanManage: false, viewerMutedUntil: null, attendance: [] } });
      expect(await participants(id)).toEqual([]);
    } finally {
      await shared.close();
    }
  });
});
