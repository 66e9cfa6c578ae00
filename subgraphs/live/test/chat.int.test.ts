// Chat, moderation and the raise-hand queue: authors edit and delete their own messages,
// instructors moderate (every action recorded), mutes and the per-person rate limit hold, and
// hands queue in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorCode, gid, idem, M, ok, organization, scheduleSession, startHarness, startSession, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;

beforeAll(async () => {
  h = await startHarness('livechat');
  org = await organization(h);
});
afterAll(() => h?.close());

const post = (who: Org['learner'], sessionId: string, body: string, key = idem()) => ok(h, who, M.post, { input: { sessionId, body, idempotencyKey: key } });

const MESSAGES = `query($id: ID!, $last: Int) { session(id: $id) { messages(last: $last) { totalCount nodes { id body author { id } deletedAt } pageInfo { hasPreviousPage } } } }`;
const LOG = `query($id: ID!) { session(id: $id) { moderationLog { totalCount nodes { id action moderator { id } target { id } message { id } reason mutedUntil createdAt } } } }`;

describe('chat', () => {
  it('keeps messages in order, lets authors edit and delete their own, and replays a post by key', async () => {
    const id = await scheduleSession(h, org);
    const key = idem();
    const first = await post(org.learner, id, '  hello  ', key);
    expect(first.postChatMessage.message).toMatchObject({ body: 'hello', author: { id: gid.user(org.learner.userId!) }, session: { id } });
    const replay = await post(org.learner, id, '  hello  ', key);
    expect(replay.postChatMessage.message.id).toBe(first.postChatMessage.message.id);
    await post(org.learner2, id, 'second');
    await post(org.instructor, id, 'third');
    const page = await ok(h, org.learner, MESSAGES, { id, last: 2 });
    expect(page.session.messages.totalCount).toBe(3);
    expect(page.session.messages.nodes.map((m: { body: string }) => m.body)).toEqual(['second', 'third']);
    expect(page.session.messages.pageInfo.hasPreviousPage).toBe(true);

    const messageId = first.postChatMessage.message.id;
    const foreign = await ok(h, org.learner2, M.edit, { input: { messageId, body: 'hijack', idempotencyKey: idem() } });
    expect(foreign.editChatMessage.errors[0].code).toBe('NOT_AUTHOR');
    const edited = await ok(h, org.learner, M.edit, { input: { messageId, body: 'hello, all', idempotencyKey: idem() } });
    expect(edited.editChatMessage.message.body).toBe('hello, all');
    expect(edited.editChatMessage.message.editedAt).not.toBeNull();
    const notMine = await ok(h, org.learner2, M.del, { input: { messageId, idempotencyKey: idem() } });
    expect(notMine.deleteChatMessage.errors[0].code).toBe('NOT_AUTHOR');
    const deleted = await ok(h, org.learner, M.del, { input: { messageId, idempotencyKey: idem() } });
    expect(deleted.deleteChatMessage.message).toMatchObject({ body: null, deletedBy: { id: gid.user(org.learner.userId!) } });
    // An author's own deletion is not moderation.
    expect((await ok(h, org.instructor, LOG, { id })).session.moderationLog.totalCount).toBe(0);
    const empty = await call(h, org.learner, M.post, { input: { sessionId: id, body: '   ', idempotencyKey: idem() } });
    expect(errorCode(empty)).toBe('BAD_USER_INPUT');
  });

  it('records every moderation action, readable by instructors only', async () => {
    const id = await scheduleSession(h, org);
    const m = await post(org.learner, id, 'spam');
    const del = await ok(h, org.instructor, M.del, { input: { messageId: m.postChatMessage.message.id, reason: 'off topic', idempotencyKey: idem() } });
    expect(del.deleteChatMessage.errors).toEqual([]);
    const muted = await ok(h, org.instructor, M.mute, { input: { sessionId: id, userId: gid.user(org.learner.userId!), minutes: 5, reason: 'spamming', idempotencyKey: idem() } });
    expect(muted.muteParticipant.mutedUntil).not.toBeNull();
    await ok(h, org.admin, M.unmute, { input: { sessionId: id, userId: gid.user(org.learner.userId!), idempotencyKey: idem() } });
    await ok(h, org.learner2, M.raise, { input: { sessionId: id, idempotencyKey: idem() } });
    await ok(h, org.instructor, M.lower, { input: { sessionId: id, userId: gid.user(org.learner2.userId!), idempotencyKey: idem() } });
    const log = (await ok(h, org.admin, LOG, { id })).session.moderationLog;
    expect(log.totalCount).toBe(4);
    expect(log.nodes.map((a: { action: string }) => a.action)).toEqual(['DELETE_MESSAGE', 'MUTE', 'UNMUTE', 'LOWER_HAND']);
    expect(log.nodes[0]).toMatchObject({ moderator: { id: gid.user(org.instructor.userId!) }, target: { id: gid.user(org.learner.userId!) }, message: { id: m.postChatMessage.message.id }, reason: 'off topic' });
    expect(log.nodes[1].mutedUntil).not.toBeNull();
    expect(log.nodes[2].moderator.id).toBe(gid.user(org.admin.userId!));
    expect((await ok(h, org.learner, LOG, { id })).session.moderationLog.totalCount).toBe(0);
    const node = await ok(h, org.instructor, `query($r: [_Any!]!) { _entities(representations: $r) { ... on ModerationAction { action } } }`, { r: [{ __typename: 'ModerationAction', id: log.nodes[0].id }] });
    expect(node._entities[0].action).toBe('DELETE_MESSAGE');
    const hidden = await ok(h, org.learner, `query($r: [_Any!]!) { _entities(representations: $r) { ... on ModerationAction { action } } }`, { r: [{ __typename: 'ModerationAction', id: log.nodes[0].id }] });
    expect(hidden._entities[0]).toBeNull();
  });

  it('refuses a muted participant with PARTICIPANT_MUTED until they are unmuted, and learners cannot mute', async () => {
    const id = await scheduleSession(h, org);
    const byLearner = await call(h, org.learner2, M.mute, { input: { sessionId: id, userId: gid.user(org.learner.userId!), minutes: 5, idempotencyKey: idem() } });
    expect(errorCode(byLearner)).toBe('FORBIDDEN');
    const notOne = await ok(h, org.instructor, M.mute, { input: { sessionId: id, userId: gid.user(org.learnerB.userId!), minutes: 5, idempotencyKey: idem() } });
    // learnerB is in cohort B: the session is for every cohort, so B's learner is a participant.
    expect(notOne.muteParticipant.errors).toEqual([]);
    const outsider = await ok(h, org.instructor, M.mute, { input: { sessionId: id, userId: gid.user(org.outsider.userId!), minutes: 5, idempotencyKey: idem() } });
    expect(outsider.muteParticipant.errors[0].code).toBe('NOT_A_PARTICIPANT');
    await ok(h, org.instructor, M.mute, { input: { sessionId: id, userId: gid.user(org.learner.userId!), minutes: 10, idempotencyKey: idem() } });
    const key = idem();
    const refused = await post(org.learner, id, 'let me talk', key);
    expect(refused.postChatMessage.message).toBeNull();
    expect(refused.postChatMessage.errors[0]).toMatchObject({ __typename: 'ParticipantMutedError', code: 'PARTICIPANT_MUTED', path: null });
    expect(new Date(refused.postChatMessage.errors[0].until).getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);
    const viewer = await ok(h, org.learner, `query($id: ID!) { session(id: $id) { viewerMutedUntil } }`, { id });
    expect(viewer.session.viewerMutedUntil).toBe(refused.postChatMessage.errors[0].until);
    await ok(h, org.instructor, M.unmute, { input: { sessionId: id, userId: gid.user(org.learner.userId!), idempotencyKey: idem() } });
    // The refusal was not stored under its key: the same key now posts.
    const retried = await post(org.learner, id, 'let me talk', key);
    expect(retried.postChatMessage.errors).toEqual([]);
    expect(retried.postChatMessage.message.body).toBe('let me talk');
  });

  it('rate-limits each person: the message past the burst gets RATE_LIMITED with retryAfterSeconds', async () => {
    const id = await scheduleSession(h, org);
    // CHAT_BURST=3, CHAT_RATE_PER_MINUTE=6 (helpers): three go through, the fourth waits ~10 s.
    for (let i = 0; i < 3; i++) expect((await post(org.learner2, id, `m${i}`)).postChatMessage.errors).toEqual([]);
    const limited = await post(org.learner2, id, 'one too many');
    expect(limited.postChatMessage.errors[0]).toMatchObject({ __typename: 'ChatRateLimitedError', code: 'RATE_LIMITED' });
    expect(limited.postChatMessage.errors[0].retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(limited.postChatMessage.errors[0].retryAfterSeconds).toBeLessThanOrEqual(10);
    // Another person's bucket is their own; another session's too.
    expect((await post(org.learner, id, 'me too')).postChatMessage.errors).toEqual([]);
    const other = await scheduleSession(h, org);
    expect((await post(org.learner2, other, 'elsewhere')).postChatMessage.errors).toEqual([]);
    const { rows } = await h.admin.query(`select count(*)::int as n from live.chat_messages m join live.sessions s on s.id = m.session_id where s.id = (select id from live.sessions where tenant_id = $1 order by seq desc offset 1 limit 1) and m.author_id = $2`, [org.tenantId, org.learner2.userId]);
    expect(rows[0].n).toBe(3);
  });
});

describe('rate limit under concurrency', () => {
  it('accepts exactly the burst from ten simultaneous posts of one person', async () => {
    const id = await scheduleSession(h, org);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(org.learnerB, id, `burst ${i}`)));
    const accepted = results.filter((r) => r.postChatMessage.errors.length === 0);
    const limited = results.filter((r) => r.postChatMessage.errors[0]?.code === 'RATE_LIMITED');
    expect([accepted.length, limited.length]).toEqual([3, 7]);
  });
});

describe('raise hand', () => {
  it('queues hands in order; a learner lowers their own, an instructor any', async () => {
    const id = await scheduleSession(h, org);
    await startSession(h, org.instructor, id);
    for (const who of [org.learner2, org.learner, org.learnerB]) await ok(h, who, M.raise, { input: { sessionId: id, idempotencyKey: idem() } });
    const again = await ok(h, org.learner2, M.raise, { input: { sessionId: id, idempotencyKey: idem() } });
    expect(again.raiseHand.hand.position).toBe(1);
    const queue = async () => (await ok(h, org.learner, `query($id: ID!) { session(id: $id) { raisedHands { user { id } position } } }`, { id })).session.raisedHands;
    expect(await queue()).toEqual([
      { user: { id: gid.user(org.learner2.userId!) }, position: 1 },
      { user: { id: gid.user(org.learner.userId!) }, position: 2 },
      { user: { id: gid.user(org.learnerB.userId!) }, position: 3 },
    ]);
    const other = await call(h, org.learner, M.lower, { input: { sessionId: id, userId: gid.user(org.learner2.userId!), idempotencyKey: idem() } });
    expect(errorCode(other)).toBe('FORBIDDEN');
    await ok(h, org.learner, M.lower, { input: { sessionId: id, idempotencyKey: idem() } });
    const lowered = await ok(h, org.instructor, M.lower, { input: { sessionId: id, userId: gid.user(org.learner2.userId!), idempotencyKey: idem() } });
    expect(lowered.lowerHand.hand).toBeNull();
    expect(lowered.lowerHand.session.raisedHands).toEqual([{ user: { id: gid.user(org.learnerB.userId!) }, position: 1 }]);
  });
});

describe('idempotency', () => {
  it('replays every mutation by its key: the same answer, and the effect once', async () => {
    const id = await scheduleSession(h, org);
    const twice = async (who: Org['learner'], mutation: string, input: Record<string, unknown>) => {
      const key = idem();
      const first = await ok(h, who, mutation, { input: { ...input, idempotencyKey: key } });
      const again = await ok(h, who, mutation, { input: { ...input, idempotencyKey: key } });
      expect(again, mutation).toEqual(first);
      return first;
    };
    const learner2 = gid.user(org.learner2.userId!);
    await twice(org.instructor, M.update, { sessionId: id, title: 'Renamed' });
    await twice(org.instructor, M.start, { sessionId: id });
    const posted = await twice(org.learner2, M.post, { sessionId: id, body: 'once' });
    const messageId = posted.postChatMessage.message.id;
    await twice(org.learner2, M.edit, { messageId, body: 'once, edited' });
    await twice(org.learner2, M.raise, { sessionId: id });
    await twice(org.instructor, M.lower, { sessionId: id, userId: learner2 });
    await twice(org.instructor, M.mute, { sessionId: id, userId: learner2, minutes: 1 });
    await twice(org.instructor, M.unmute, { sessionId: id, userId: learner2 });
    await twice(org.instructor, M.del, { messageId });
    await twice(org.instructor, M.end, { sessionId: id });
    const counts = await h.admin.query(
      `select (select count(*)::int from live.chat_messages where session_id = s.id) as messages,
              (select count(*)::int from live.moderation_actions where session_id = s.id) as moderation,
              (select count(*)::int from live.outbox where aggregate_id = s.id::text) as events
         from live.sessions s where s.title = 'Renamed' and s.tenant_id = $1`,
      [org.tenantId],
    );
    expect(counts.rows).toEqual([{ messages: 1, moderation: 4, events: 1 }]);
  });
});
