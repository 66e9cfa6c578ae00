// Live classes through the gateway with real graphql-ws clients, real Redis and every worker:
// chat fanned out with the author resolved from identity per event (batched: one upstream
// subscription and one identity fetch per event, however many subscribers share it), who may
// subscribe and post, two gateways over two live replicas, presence that ends with the socket
// and with a SIGKILLed gateway process, mute, rate limit and the moderation log, the inbox
// stream of notifications, the per-socket subscription limit, and a supergraph reload.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApolloClient, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { globalId } from '@lectern/kernel/ids';
import { freePort, gql, idem, subscribeGateway, until, type SubgraphSubscription } from '@lectern/testkit';
import { accessTokenFor, seedMember, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { loadEnv as liveEnv, startLive } from '@lectern/live/server';
import { loadEnv as gatewayEnv, startGateway } from '@lectern/gateway/server';
import { startStack, run, type Stack } from './src/harness.ts';
import {
  ChatMessageAddedDocument,
  CreateCohortDocument,
  CreateOfferingDocument,
  EndSessionDocument,
  EnrollLearnerDocument,
  MuteParticipantDocument,
  NotificationAddedDocument,
  PostChatMessageDocument,
  ScheduleSessionDocument,
  SessionEventsDocument,
  SessionRoomDocument,
  StartSessionDocument,
} from './__generated__/graphql.ts';

const TTL_SECONDS = 2;
let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
const t = { admin: '', instructor: '', learner: '', learner2: '', bAdmin: '', chatty: '' };
let sessionId = '';
let courseId = '';
let learnerEnrollment = '';
const open: SubgraphSubscription[] = [];

const sub = async (token: string, doc: Parameters<typeof print>[0], variables: Record<string, unknown> = {}, url = stack.url) => {
  const s = await subscribeGateway(url, token, print(doc), variables);
  open.push(s);
  return s;
};
const chat = (token: string, body: string, url = stack.url) => run(url, PostChatMessageDocument, { input: { sessionId, body, idempotencyKey: idem() } }, token);
const room = async (token = t.admin) => {
  const r = await run(stack.url, SessionRoomDocument, { id: sessionId }, token);
  expect(r.errors).toBeUndefined();
  return r.data!.session!;
};
const present = async () => (await room()).participants.map((p) => p.user.displayName).sort();
/** Subscribed: the subscriber's presence shows (its admission is done and its upstream open). */
const joined = (name: string) => until(async () => (await present()).includes(name));
const gone = (name: string) => until(async () => !(await present()).includes(name));

beforeAll(async () => {
  stack = await startStack('live', { WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3' }, {
    workers: true,
    live: { PRESENCE_TTL_SECONDS: String(TTL_SECONDS), PRESENCE_SWEEP_INTERVAL_MS: '200', CHAT_BURST: '8', CHAT_RATE_PER_MINUTE: '6' },
  });
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme-live');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'globex-live');
  const orm = stack.identity.deps.orm;
  t.admin = await accessTokenFor(orm, A.admin, A.org);
  t.instructor = await accessTokenFor(orm, A.instructor, A.org);
  t.learner = await accessTokenFor(orm, A.learner, A.org);
  t.learner2 = await accessTokenFor(orm, A.learner2, A.org);
  t.bAdmin = await accessTokenFor(orm, B.admin, B.org);
  // An admin who posts only in the rate-limit test: a full bucket.
  t.chatty = await accessTokenFor(orm, await seedMember(orm, A.org, { email: 'rita@acme-live.example', displayName: 'Rita Rapid', roles: ['ORG_ADMIN'] }), A.org);
  const course = await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorId: A.admin.id, title: 'Welding', published: true, modules: [{ title: 'M', lessons: [{ title: 'L', kind: 'TEXT' }] }] });
  courseId = globalId('Course', course.id);
  const now = Date.now();
  const o = await run(stack.url, CreateOfferingDocument, { input: { courseId, startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 30 * 86_400_000).toISOString(), selfEnrollment: true, idempotencyKey: idem() } }, t.admin);
  expect(o.data?.createOffering.errors).toEqual([]);
  const offeringId = o.data!.createOffering.offering!.id;
  const cohort = async (name: string, instructorIds: string[]) => {
    const c = await run(stack.url, CreateCohortDocument, { input: { offeringId, name, capacity: 50, instructorIds, idempotencyKey: idem() } }, t.admin);
    expect(c.data?.createCohort.errors).toEqual([]);
    return c.data!.createCohort.cohort!.id;
  };
  const morning = await cohort('Morning', [globalId('User', A.instructor.id)]);
  const evening = await cohort('Evening', []);
  for (const [token, cohortId] of [[t.learner, morning], [t.learner2, evening]] as const) {
    const e = await run(stack.url, EnrollLearnerDocument, { input: { cohortId, idempotencyKey: idem() } }, token);
    expect(e.data?.enrollLearner.enrollment?.status).toBe('ACTIVE');
    if (token === t.learner) learnerEnrollment = e.data!.enrollLearner.enrollment!.id;
  }
  // live learns the cohorts and the roster from enrollment's events
  const s = await until(async () => {
    const r = await run(stack.url, ScheduleSessionDocument, {
      input: { offeringId, title: 'Welding Q&A', startsAt: new Date(now + 60_000).toISOString(), endsAt: new Date(now + 3600_000).toISOString(), joinUrl: 'https://meet.example.com/weld', cohortIds: [morning], idempotencyKey: idem() },
    }, t.instructor);
    return r.data?.scheduleSession.session ? r : null;
  });
  sessionId = s.data!.scheduleSession.session!.id;
  const started = await run(stack.url, StartSessionDocument, { input: { sessionId, idempotencyKey: idem() } }, t.instructor);
  expect(started.data?.startSession.errors).toEqual([]);
  await until(async () => (await run(stack.url, SessionRoomDocument, { id: sessionId }, t.learner)).data?.session?.id === sessionId); // the learner's enrollment reached live
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((s) => s.close().catch(() => {})));
  await stack?.close();
});

describe('live classes through the gateway', () => {
  it('fans a chat message out to every participant with the author from identity', async () => {
    const learner = await sub(t.learner, ChatMessageAddedDocument, { sessionId });
    const admin = await sub(t.admin, ChatMessageAddedDocument, { sessionId });
    await joined('Lena Learner');
    await joined('Ada Admin');
    const posted = await chat(t.instructor, 'Welcome, everyone');
    expect(posted.data?.postChatMessage.errors).toEqual([]);
    for (const s of [learner, admin]) {
      const r = await s.next();
      expect(r.errors).toBeUndefined();
      expect(r.data!.chatMessageAdded).toMatchObject({ body: 'Welcome, everyone', author: { id: globalId('User', A.instructor.id), displayName: 'Ivan Instructor' } });
    }
    // Identical subscriptions of one session share one upstream subscription.
    expect(stack.gateway.engine.upstreamCount).toBe(1);
    await learner.close();
    await admin.close();
  });

  // Several waits in a row (socket, admission, presence, the message, leaving): a minute and a half
  // beside other test files on two cores.
  it('serves an Apollo Client app subscribing through GraphQLWsLink (a __typename in every selection)', { timeout: 90_000 }, async () => {
    const ws = createClient({ url: stack.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t.learner}` } });
    const client = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
    try {
      const received = new Promise<{ body: string | null; author: { displayName: string; __typename: string } }>((resolve, reject) => {
        client.subscribe({ query: ChatMessageAddedDocument, variables: { sessionId } }).subscribe({
          next: (r) => (r.data ? resolve(r.data.chatMessageAdded as never) : reject(new Error(JSON.stringify(r.error)))),
          error: reject,
        });
      });
      await joined('Lena Learner');
      await chat(t.instructor, 'hello, Apollo');
      expect(await received).toMatchObject({ body: 'hello, Apollo', author: { __typename: 'User', displayName: 'Ivan Instructor' } });
    } finally {
      client.stop();
      await ws.dispose();
    }
    await gone('Lena Learner');
  });

  it('refuses a learner of another cohort and another organization as if the session did not exist', async () => {
    for (const token of [t.learner2, t.bAdmin]) {
      const s = await sub(token, ChatMessageAddedDocument, { sessionId });
      const ended = await s.ended;
      expect(ended).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
      const post = await chat(token, 'let me in');
      expect(post.data?.postChatMessage?.message ?? null).toBeNull();
      const code = post.errors?.[0]?.extensions?.code ?? post.data?.postChatMessage.errors[0]?.code;
      expect(String(code)).toMatch(/NOT_FOUND/);
    }
    const missing = await sub(t.learner2, ChatMessageAddedDocument, { sessionId: globalId('Session', '00000000-0000-4000-8000-000000000000') });
    expect(await missing.ended).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    // Ids that are not a session's, and variables of the wrong type: typed errors, nothing internal.
    for (const variables of [{ sessionId: 'garbage' }, { sessionId: courseId }, { sessionId: 42 }, {}]) {
      const bad = await sub(t.learner, ChatMessageAddedDocument, variables);
      const ended = (await bad.ended) as { errors?: { extensions?: { code?: string } }[] };
      expect(ended.errors?.[0]?.extensions?.code, JSON.stringify(ended)).toMatch(/^(NOT_FOUND|BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/);
    }
  });

  it('completes each event once per group: 12 subscribers cost identity what 1 costs', async () => {
    const identityStatements = async (subscribers: number) => {
      const subs = await Promise.all(Array.from({ length: subscribers }, () => sub(t.learner, ChatMessageAddedDocument, { sessionId })));
      await joined('Lena Learner');
      await until(() => stack.gateway.engine.subscriberCount >= subscribers);
      // The poster's session was just checked (the gateway asks identity again only after
      // SESSION_CHECK_SECONDS): what identity spends below is the event's completion alone.
      await gql(stack.url, '{ me { id } }', {}, { token: t.admin });
      const before = stack.identity.deps.stats.statements;
      await chat(t.admin, `count ${subscribers}`);
      for (const s of subs) expect((await s.next()).data!.chatMessageAdded.author.displayName).toBe('Ada Admin');
      const spent = stack.identity.deps.stats.statements - before;
      await Promise.all(subs.map((s) => s.close()));
      await until(() => stack.gateway.engine.subscriberCount === 0);
      return spent;
    };
    const one = await identityStatements(1);
    const twelve = await identityStatements(12);
    expect(twelve).toBe(one);
  });

  it('keeps presence while subscribed and removes it when the socket closes', async () => {
    const events = await sub(t.learner, SessionEventsDocument, { sessionId });
    await joined('Lena Learner');
    const started = Date.now();
    await events.close();
    await gone('Lena Learner');
    expect(Date.now() - started).toBeLessThan(TTL_SECONDS * 1000 * 5);
  });

  it('holds presence again when live lost the leases (an outage longer than the TTL)', async () => {
    const events = await sub(t.learner, SessionEventsDocument, { sessionId });
    await joined('Lena Learner');
    // Live ends every lease, as its sweeper does after live or Redis was away for longer than the TTL.
    const leases = () => stack.live.deps.redis.zrange('live:leases', 0, -1);
    const lost = await leases();
    await stack.live.runtime.presence.release(lost);
    // The next renewal learns the lease is gone; the gateway admits the subscriber again.
    await until(async () => (await leases()).some((id) => !lost.includes(id)));
    await joined('Lena Learner');
    await events.close();
    await gone('Lena Learner');
  });

  // A gateway process starting from scratch (Node, Apollo, the supergraph) beside other test files
  // on two cores: its start gets a minute; what is measured is the presence after the kill.
  it('removes the presence of a SIGKILLed gateway process within the TTL', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['gateway/src/main.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env: {
        ...process.env, ...stack.db.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', APOLLO_TELEMETRY_DISABLED: 'true', PORT: String(port),
        IDENTITY_URL: stack.identity.url, CATALOG_URL: stack.catalog.url, ENROLLMENT_URL: stack.enrollment.url, LEARNING_URL: stack.learning.url,
        NOTIFICATIONS_URL: stack.notifications.url, LIVE_URL: stack.live.url,
      },
      stdio: 'ignore',
    });
    try {
      const url = `http://127.0.0.1:${port}/graphql`;
      await until(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), Boolean, 60_000);
      await sub(t.admin, SessionEventsDocument, { sessionId }, url);
      await joined('Ada Admin');
      const killed = Date.now();
      child.kill('SIGKILL');
      await gone('Ada Admin');
      // Leases stop being renewed; the sweeper ends them once the TTL passed.
      expect(Date.now() - killed).toBeLessThan(TTL_SECONDS * 1000 * 5);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('delivers across two gateways over two live replicas (Redis pub/sub)', async () => {
    const live2 = await startLive(liveEnv({ ...stack.db.env, PRESENCE_TTL_SECONDS: String(TTL_SECONDS) }));
    const gateway2 = await startGateway(gatewayEnv({ ...stack.db.env, IDENTITY_URL: stack.identity.url, CATALOG_URL: stack.catalog.url, ENROLLMENT_URL: stack.enrollment.url, LEARNING_URL: stack.learning.url, NOTIFICATIONS_URL: stack.notifications.url, LIVE_URL: live2.url }));
    try {
      const on1 = await sub(t.learner, ChatMessageAddedDocument, { sessionId });
      const on2 = await sub(t.admin, ChatMessageAddedDocument, { sessionId }, gateway2.url);
      await joined('Lena Learner');
      await joined('Ada Admin');
      await chat(t.instructor, 'via the first gateway');
      await chat(t.instructor, 'via the second gateway', gateway2.url);
      for (const s of [on1, on2]) {
        expect((await s.next()).data!.chatMessageAdded.body).toBe('via the first gateway');
        expect((await s.next()).data!.chatMessageAdded.body).toBe('via the second gateway');
      }
      await on1.close();
    } finally {
      await gateway2.close();
      await live2.close();
    }
  });

  it('resubscribes when the live subgraph restarts, and reports it in the metrics', async () => {
    const gatewayMetrics = async () => (await fetch(stack.url.replace(/\/graphql$/, '/metrics'))).text();
    const link = async () => /lectern_gateway_subscription_link_up\{[^}]*subgraph="live"[^}]*\} (\d)/.exec(await gatewayMetrics())?.[1];
    const liveShared = async () => Number(/lectern_subscriptions_active\{[^}]*kind="shared"[^}]*\} (\d+)/.exec(await (await fetch(stack.live.url.replace(/\/graphql$/, '/metrics'))).text())?.[1] ?? 0);
    const s = await sub(t.learner, ChatMessageAddedDocument, { sessionId });
    await joined('Lena Learner');
    expect(await link()).toBe('1');
    const text = await gatewayMetrics();
    for (const name of ['lectern_gateway_websockets_open', 'lectern_gateway_subscriptions_active', 'lectern_gateway_upstream_subscriptions', 'lectern_gateway_subscription_events_total', 'lectern_gateway_subscription_results_dropped_total']) expect(text).toContain(name);

    const port = Number(new URL(stack.live.url).port);
    await stack.live.close();
    await until(async () => (await link()) === '0');
    stack.live = await startLive(liveEnv({ ...stack.db.env, PRESENCE_TTL_SECONDS: String(TTL_SECONDS), PRESENCE_SWEEP_INTERVAL_MS: '200', CHAT_BURST: '8', CHAT_RATE_PER_MINUTE: '6' }), { port });
    await until(async () => (await link()) === '1' && (await liveShared()) >= 1); // reconnected and resubscribed
    await chat(t.admin, 'after the restart');
    expect((await s.next()).data!.chatMessageAdded).toMatchObject({ body: 'after the restart', author: { displayName: 'Ada Admin' } });
    await s.close();
  });

  it('drops and reopens its socket to a live replica that stops answering (SIGSTOP), and delivers again after SIGCONT', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['subgraphs/live/src/main.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, ...stack.db.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), PRESENCE_TTL_SECONDS: String(TTL_SECONDS), PRESENCE_SWEEP_INTERVAL_MS: '200' },
      stdio: 'ignore',
    });
    const gateway2 = await startGateway(gatewayEnv({ ...stack.db.env, IDENTITY_URL: stack.identity.url, CATALOG_URL: stack.catalog.url, ENROLLMENT_URL: stack.enrollment.url, LEARNING_URL: stack.learning.url, NOTIFICATIONS_URL: stack.notifications.url, LIVE_URL: `http://127.0.0.1:${port}/graphql` }));
    try {
      await until(() => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false));
      const link = async () => /lectern_gateway_subscription_link_up\{[^}]*subgraph="live"[^}]*\} (\d)/.exec(await (await fetch(gateway2.url.replace(/\/graphql$/, '/metrics'))).text())?.[1];
      const shared = async () => Number(/lectern_subscriptions_active\{[^}]*kind="shared"[^}]*\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);
      const s = await sub(t.admin, ChatMessageAddedDocument, { sessionId }, gateway2.url);
      await until(async () => (await link()) === '1' && (await shared()) >= 1);
      child.kill('SIGSTOP');
      // No answer to the gateway's ping within 5 s (pings every 10 s): the socket is dropped.
      await until(async () => (await link()) === '0', Boolean, 25_000);
      child.kill('SIGCONT');
      await until(async () => (await link()) === '1' && (await shared()) >= 1, Boolean, 25_000); // reconnected and resubscribed
      await chat(t.instructor, 'after the thaw');
      expect((await s.next()).data!.chatMessageAdded).toMatchObject({ body: 'after the thaw', author: { displayName: 'Ivan Instructor' } });
      await s.close();
    } finally {
      child.kill('SIGCONT');
      await gateway2.close();
      child.kill('SIGKILL');
    }
  }, 90_000);

  it('holds a mute and the rate limit, and records moderation', async () => {
    const mute = await run(stack.url, MuteParticipantDocument, { input: { sessionId, userId: globalId('User', A.learner.id), minutes: 5, reason: 'spam', idempotencyKey: idem() } }, t.instructor);
    expect(mute.data?.muteParticipant.errors).toEqual([]);
    const muted = await chat(t.learner, 'can you hear me');
    expect(muted.data?.postChatMessage.message).toBeNull();
    expect(muted.data?.postChatMessage.errors[0]).toMatchObject({ code: 'PARTICIPANT_MUTED', until: mute.data!.muteParticipant.mutedUntil });

    const log = (await room(t.instructor)).moderationLog.nodes;
    expect(log).toContainEqual(expect.objectContaining({ action: 'MUTE', moderator: { displayName: 'Ivan Instructor' }, target: { displayName: 'Lena Learner' }, reason: 'spam' }));
    // Learners do not read the moderation log.
    expect((await room(t.learner)).moderationLog.nodes).toEqual([]);

    // A burst of 8 (a token back every 10 s), then RATE_LIMITED with a retry-after.
    const results = [];
    for (let i = 0; i < 9; i++) results.push(await chat(t.chatty, `burst ${i}`));
    expect(results.slice(0, 8).every((r) => r.data?.postChatMessage.errors.length === 0)).toBe(true);
    const limited = results[8]!.data!.postChatMessage;
    expect(limited.message).toBeNull();
    expect(limited.errors[0]).toMatchObject({ code: 'RATE_LIMITED' });
    expect((limited.errors[0] as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('streams the signed-in user\'s new notifications, and no one else\'s', async () => {
    await until(() => stack.gateway.engine.subscriberCount === 0); // the tests before have let theirs go
    const mine = await sub(t.learner2, NotificationAddedDocument);
    const other = await sub(t.learner, NotificationAddedDocument);
    await until(() => stack.gateway.engine.subscriberCount >= 2);
    // A new enrollment of learner2 makes notifications' worker write an ENROLLMENT_CONFIRMED item.
    const now = Date.now();
    const o = await run(stack.url, CreateOfferingDocument, { input: { courseId, startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 86_400_000).toISOString(), selfEnrollment: true, idempotencyKey: idem() } }, t.admin);
    const c = await run(stack.url, CreateCohortDocument, { input: { offeringId: o.data!.createOffering.offering!.id, name: 'Late', capacity: 5, instructorIds: [], idempotencyKey: idem() } }, t.admin);
    await run(stack.url, EnrollLearnerDocument, { input: { cohortId: c.data!.createCohort.cohort!.id, idempotencyKey: idem() } }, t.learner2);
    const r = await mine.next(20_000);
    expect(r.errors).toBeUndefined();
    expect(r.data!.notificationAdded).toMatchObject({ category: 'ENROLLMENT_CONFIRMED' });
    expect(r.data!.notificationAdded.title).toMatch(/Welding/);
    expect(other.pending).toBe(0);
    await mine.close();
    await other.close();
  });

  it('answers RATE_LIMITED past the subscriptions allowed on one socket', async () => {
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const client = createClient({ url: stack.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t.admin}` }, retryAttempts: 0 });
    try {
      const outcomes: Promise<string>[] = [];
      for (let i = 0; i < 4; i++) {
        outcomes.push(
          new Promise((resolve) => {
            client.subscribe({ query: print(ChatMessageAddedDocument), variables: { sessionId } }, {
              next: () => resolve('next'),
              error: (e) => resolve(Array.isArray(e) ? String((e[0] as { extensions?: { code?: string } }).extensions?.code) : 'closed'),
              complete: () => resolve('complete'),
            });
          }),
        );
      }
      await until(() => stack.gateway.engine.subscriberCount >= 3);
      expect(await Promise.race([outcomes[3]!, ...outcomes.slice(0, 3)])).toBe('RATE_LIMITED');
    } finally {
      await client.dispose();
    }
  });

  it('keeps subscriptions across a supergraph reload, and ends those the new schema no longer allows', async () => {
    await until(() => stack.gateway.engine.subscriberCount === 0); // the tests before have let theirs go
    const chatOnly = await sub(t.learner, ChatMessageAddedDocument, { sessionId });
    const events = await sub(t.admin, SessionEventsDocument, { sessionId });
    await until(() => stack.gateway.engine.subscriberCount >= 2);
    const original = readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8');
    const renamed = join(tmpdir(), `lectern-supergraph-${process.pid}.graphql`);
    writeFileSync(renamed, original.replace('  chatMessageAdded(', '  chatMessageArrived('));
    try {
      await stack.gateway.reloadSupergraph(renamed);
      // A last result says why, then the subscription completes.
      expect(await chatOnly.next()).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
      expect(await chatOnly.ended).toEqual({ completed: true });
      await chat(t.instructor, 'after the reload');
      let r = await events.next();
      while (r.data?.sessionEvents.__typename !== 'ChatMessagePosted') r = await events.next();
      // HTTP serves the new supergraph too, node(id:) included.
      const refetched = await gql(stack.url, 'query($id: ID!) { node(id: $id) { __typename id } }', { id: sessionId }, { token: t.admin });
      expect(refetched.data?.node).toEqual({ __typename: 'Session', id: sessionId });
      // Each event completed from three other subgraphs: identity (the author), enrollment (the offering), catalog (its course).
      expect(r.data.sessionEvents).toMatchObject({ message: { body: 'after the reload', author: { displayName: 'Ivan Instructor' }, session: { title: 'Welding Q&A', offering: { course: { title: 'Welding' } } } } });
    } finally {
      await stack.gateway.reloadSupergraph();
    }
  });

  it('ends the subscription of a learner dropped from the cohort, as if the session were gone', async () => {
    const s = await sub(t.learner, ChatMessageAddedDocument, { sessionId });
    await joined('Lena Learner');
    const dropped = await gql(stack.url, 'mutation($i: DropEnrollmentInput!) { dropEnrollment(input: $i) { errors { code } } }', { i: { enrollmentId: learnerEnrollment, idempotencyKey: idem() } }, { token: t.admin });
    expect(dropped.data?.dropEnrollment.errors).toEqual([]);
    // live's roster hears it from enrollment's event; the next lease renewal refuses her.
    expect(await s.next(20_000)).toMatchObject({ errors: [{ message: 'Session not found', extensions: { code: 'NOT_FOUND' } }] });
    expect(await s.ended).toEqual({ completed: true });
    await gone('Lena Learner');
  });

  it('records attendance when the session ends', async () => {
    const ended = await run(stack.url, EndSessionDocument, { input: { sessionId, idempotencyKey: idem() } }, t.instructor);
    expect(ended.data?.endSession.errors).toEqual([]);
    expect(ended.data?.endSession.session?.status).toBe('ENDED');
  });
});
