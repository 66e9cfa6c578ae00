// Sessions through the live subgraph: who schedules, sees, starts and ends them; tenant and
// cohort isolation (a refusal looks exactly like a missing session); idempotent mutations;
// attendance recorded once on end; batched reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf } from '@lectern/kernel';
import { call, errorCode, gid, idem, M, ok, organization, outboxRows, scheduleSession, startHarness, startSession, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;
let other: Org;

beforeAll(async () => {
  h = await startHarness('livesessions');
  org = await organization(h);
  other = await organization(h);
});
afterAll(() => h?.close());

const SESSION = `query($id: ID!) { session(id: $id) { id title status viewerCanManage instructors { id } } }`;

describe('scheduling', () => {
  it('lets the offering’s instructors and ORG_ADMIN schedule, never a learner', async () => {
    const id = await scheduleSession(h, org);
    const seen = await ok(h, org.learner, SESSION, { id });
    expect(seen.session).toMatchObject({ id, title: 'Office hours', status: 'SCHEDULED', viewerCanManage: false });
    expect(seen.session.instructors.map((u: { id: string }) => u.id).sort()).toEqual([gid.user(org.instructor.userId!), gid.user(org.instructorB.userId!)].sort());
    await scheduleSession(h, org, { by: org.admin });
    const refused = await call(h, org.learner, M.schedule, {
      input: { offeringId: gid.offering(org.offeringId), title: 'x', startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 60_000).toISOString(), joinUrl: 'https://x.example/a', idempotencyKey: idem() },
    });
    expect(errorCode(refused)).toBe('FORBIDDEN');
  });

  it('validates the join link and the cohorts', async () => {
    const base = { offeringId: gid.offering(org.offeringId), title: 'x', startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 60_000).toISOString() };
    const http = await call(h, org.instructor, M.schedule, { input: { ...base, joinUrl: 'http://insecure.example/a', idempotencyKey: idem() } });
    expect(errorCode(http)).toBe('BAD_USER_INPUT');
    expect(http.errors?.[0]?.extensions?.field).toBe('joinUrl');
    const foreign = await ok(h, org.admin, M.schedule, { input: { ...base, joinUrl: 'https://x.example/a', cohortIds: [gid.cohort(other.cohortA)], idempotencyKey: idem() } });
    expect(foreign.scheduleSession.errors[0]).toMatchObject({ code: 'COHORT_NOT_IN_OFFERING', path: ['input', 'cohortIds'] });
  });

  it('replays a mutation with the same key and refuses the key with other input', async () => {
    const input = {
      offeringId: gid.offering(org.offeringId),
      title: 'Replay',
      startsAt: new Date(Date.now() + 60_000).toISOString(),
      endsAt: new Date(Date.now() + 120_000).toISOString(),
      joinUrl: 'https://video.example.com/r',
      idempotencyKey: idem(),
    };
    const first = await ok(h, org.instructor, M.schedule, { input });
    const again = await ok(h, org.instructor, M.schedule, { input });
    expect(again.scheduleSession.session.id).toBe(first.scheduleSession.session.id);
    const other = await call(h, org.instructor, M.schedule, { input: { ...input, title: 'Changed' } });
    expect(errorCode(other)).toBe('BAD_USER_INPUT');
    expect(other.errors?.[0]?.extensions?.reason).toBe('IDEMPOTENCY_KEY_REUSED');
    const { rows } = await h.admin.query('select count(*)::int as n from live.sessions where title = $1', ['Replay']);
    expect(rows[0].n).toBe(1);

    const sessionId = first.scheduleSession.session.id;
    const startKey = idem();
    const s1 = await ok(h, org.instructor, M.start, { input: { sessionId, idempotencyKey: startKey } });
    const s2 = await ok(h, org.instructor, M.start, { input: { sessionId, idempotencyKey: startKey } });
    expect(s1.startSession.errors).toEqual([]);
    expect(s2.startSession).toEqual(s1.startSession);
    const s3 = await ok(h, org.instructor, M.start, { input: { sessionId, idempotencyKey: idem() } });
    expect(s3.startSession.errors[0].code).toBe('SESSION_NOT_SCHEDULED');
  });
});

describe('isolation', () => {
  it('hides a session restricted to cohort B from cohort A’s learner exactly like a missing one', async () => {
    const id = await scheduleSession(h, org, { by: org.instructorB, cohortIds: [org.cohortB] });
    expect((await ok(h, org.learnerB, SESSION, { id })).session.id).toBe(id);
    expect((await ok(h, org.instructorB, SESSION, { id })).session.viewerCanManage).toBe(true);
    const missing = gid.session('00000000-0000-4000-8000-000000000001');
    for (const who of [org.learner, org.instructor, org.outsider]) {
      expect((await ok(h, who, SESSION, { id })).session).toBeNull();
      for (const [mutation, input] of [
        [M.post, { sessionId: id, body: 'hi' }],
        [M.raise, { sessionId: id }],
        [M.start, { sessionId: id }],
      ] as const) {
        const r = await call(h, who, mutation, { input: { ...input, idempotencyKey: idem() } });
        const gone = await call(h, who, mutation, { input: { ...input, sessionId: missing, idempotencyKey: idem() } });
        expect(errorCode(r)).toBe('NOT_FOUND');
        expect(r.errors?.[0]?.message).toBe(gone.errors?.[0]?.message);
      }
    }
  });

  it('never shows another organization’s session, on any query or mutation', async () => {
    const id = await scheduleSession(h, other);
    for (const who of [org.admin, org.instructor, org.learner]) {
      expect((await ok(h, who, SESSION, { id })).session).toBeNull();
      const node = await ok(h, who, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { id } } }`, { r: [{ __typename: 'Session', id }] });
      expect(node._entities).toEqual([null]);
    }
    const mutations: [string, Record<string, unknown>][] = [
      [M.update, { sessionId: id, title: 'Mine now' }],
      [M.start, { sessionId: id }],
      [M.end, { sessionId: id }],
      [M.post, { sessionId: id, body: 'hello' }],
      [M.raise, { sessionId: id }],
      [M.lower, { sessionId: id }],
      [M.mute, { sessionId: id, userId: gid.user(other.learner.userId!), minutes: 5 }],
      [M.unmute, { sessionId: id, userId: gid.user(other.learner.userId!) }],
    ];
    for (const [mutation, input] of mutations) {
      const r = await call(h, org.admin, mutation, { input: { ...input, idempotencyKey: idem() } });
      expect(errorCode(r), mutation).toBe('NOT_FOUND');
    }
    // Their offering's sessions are not ours either.
    const list = await ok(h, org.admin, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Offering { sessions { totalCount } } } }`, { r: [{ __typename: 'Offering', id: gid.offering(other.offeringId) }] });
    expect(list._entities[0].sessions.totalCount).toBe(0);
    const { rows } = await h.admin.query('select title, status from live.sessions where id = $1', [idOf(id, 'Session')]);
    expect(rows[0]).toEqual({ title: 'Office hours', status: 'SCHEDULED' });
  });
});

describe('ending a session', () => {
  it('closes intervals and records AttendanceRecorded once, in the same transaction', async () => {
    const id = await scheduleSession(h, org);
    const uuid = idOf(id, 'Session')!;
    const presence = h.live.runtime.presence;
    await presence.join('00000000-0000-4000-8000-00000000a001', org.tenantId, uuid, org.learner.userId!);
    await startSession(h, org.instructor, id);
    await presence.join('00000000-0000-4000-8000-00000000a002', org.tenantId, uuid, org.instructor.userId!);
    const key = idem();
    const ended = await ok(h, org.instructor, M.end, { input: { sessionId: id, idempotencyKey: key } });
    expect(ended.endSession.session.status).toBe('ENDED');
    await ok(h, org.instructor, M.end, { input: { sessionId: id, idempotencyKey: key } });
    const again = await ok(h, org.admin, M.end, { input: { sessionId: id, idempotencyKey: idem() } });
    expect(again.endSession.errors[0].code).toBe('SESSION_NOT_LIVE');
    const rows = await outboxRows(h, 'live.AttendanceRecorded', uuid);
    expect(rows).toHaveLength(1);
    const payload = rows[0]!.payload;
    expect(payload).toMatchObject({ sessionId: uuid, offeringId: org.offeringId });
    const roles = Object.fromEntries(payload.attendees.map((a: { userId: string; role: string }) => [a.userId, a.role]));
    expect(roles).toEqual({ [org.learner.userId!]: 'LEARNER', [org.instructor.userId!]: 'INSTRUCTOR' });
    for (const a of payload.attendees) expect(a.attendedSeconds).toBeLessThanOrEqual(payload.durationSeconds);
    const open = await h.admin.query('select count(*)::int as n from live.attendance_intervals where session_id = $1 and left_at is null', [uuid]);
    expect(open.rows[0].n).toBe(0);
    const attendance = await ok(h, org.instructor, `query($id: ID!) { session(id: $id) { attendance { user { id } role intervals { joinedAt leftAt } attendedSeconds percent } } }`, { id });
    expect(attendance.session.attendance).toHaveLength(2);
    const hidden = await ok(h, org.learner, `query($id: ID!) { session(id: $id) { attendance { user { id } } } }`, { id });
    expect(hidden.session.attendance).toEqual([]);
    const chat = await ok(h, org.learner, M.post, { input: { sessionId: id, body: 'too late', idempotencyKey: idem() } });
    expect(chat.postChatMessage.errors[0].code).toBe('SESSION_ENDED');
    await presence.release(['00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a002']);
  });
});

describe('batched reads', () => {
  it('reads 100 sessions with their messages and instructors in as many statements as 1', async () => {
    const solo = await organization(h);
    const first = await scheduleSession(h, solo);
    await ok(h, solo.learner, M.post, { input: { sessionId: first, body: 'hello', idempotencyKey: idem() } });
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Offering { sessions(first: 100) { totalCount nodes { id title status instructors { id } raisedHands { position } viewerMutedUntil viewerCanManage
      messages(last: 5) { nodes { id body author { id } } } } } } } }`;
    const cost = async () => {
      const before = h.live.deps.stats.statements;
      const r = await ok(h, solo.learner, query, { r: [{ __typename: 'Offering', id: gid.offering(solo.offeringId) }] });
      return { n: h.live.deps.stats.statements - before, sessions: r._entities[0].sessions.nodes.length };
    };
    const one = await cost();
    expect(one.sessions).toBe(1);
    await h.admin.query(
      `insert into live.sessions (id, tenant_id, offering_id, title, starts_at, ends_at, join_url)
       select gen_random_uuid(), $1, $2, 'Bulk ' || g, now() + interval '1 hour', now() + interval '2 hours', 'https://video.example.com/b' from generate_series(1, 99) g`,
      [solo.tenantId, solo.offeringId],
    );
    const many = await cost();
    expect(many.sessions).toBe(100);
    expect(many.n).toBe(one.n);
  });
});
