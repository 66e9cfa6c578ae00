// Subscription.notificationAdded, straight at the notifications subgraph over graphql-ws (as the
// gateway's upstream connection reaches it: a gateway service credential at connection_init, the
// gateway-signed actor on each subscribe): a person's subscription receives the in-app items the
// worker creates for them, once their delivery committed, and nobody else's: not another
// person's, not their own in another organization, not one they turned off in-app.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { globalId, inTenant, type Actor } from '@lectern/kernel';
import { createRedis, waitForRedis } from '@lectern/kernel/redis';
import { redisChannel } from '@lectern/kernel/subscriptions';
import { actor, subscribeSubgraph, type SubgraphSubscription } from '@lectern/testkit';
import { MemberAdded } from '@lectern/contracts/identity';
import { NOTIFICATIONS } from '@lectern/contracts/notifications';
import { afterCommit } from '@lectern/kernel/uow';
import { inboxChannel } from '../src/modules/inbox/notification-added.ts';
import { envelope } from '../src/testing/index.ts';
import { handle, ok, Q, seedOrg, setPreference, startHarness, until, type Harness, type SeededOrg } from './helpers.ts';

let h: Harness;
let A: SeededOrg;
let B: SeededOrg;
let redis: Redis;

beforeAll(async () => {
  h = await startHarness('notifsub');
  A = await seedOrg(h, 'org-a');
  B = await seedOrg(h, 'org-b');
  redis = createRedis(h.env.REDIS_URL);
  await waitForRedis(redis, h.env.REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

const ADDED = `subscription { notificationAdded { id category title body link read readAt createdAt course { id } } }`;

const subs: SubgraphSubscription[] = [];
afterEach(async () => {
  while (subs.length) await subs.pop()!.close();
});

/**
 * Subscribes as `who`, the way the gateway's upstream connection does, and waits until the
 * subgraph listens on the person's channel (pub/sub keeps nothing for late listeners).
 */
async function subscribe(who: Actor) {
  const sub = await subscribeSubgraph(h.url, who, ADDED, {}, { service: NOTIFICATIONS });
  subs.push(sub);
  if (who.kind === 'user' && who.tenantId && who.userId) {
    const channel = redisChannel(h.env.REDIS_PREFIX, NOTIFICATIONS, who.tenantId, inboxChannel(who.userId));
    await until(async () => Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]) > 0);
  }
  return sub;
}

/** A welcome item for `userId` in `org`, as identity's MemberAdded makes the worker create it. */
const welcome = (org: SeededOrg, userId: string) =>
  handle(h, envelope(MemberAdded, { tenantId: org.tenantId, payload: { membershipId: randomUUID(), userId, roles: ['LEARNER'], via: 'ADDED' } }));

/** The newest item of `who`'s inbox, as the inbox query shows it. */
async function newest(who: Actor) {
  const data = await ok(h, who, Q.inbox, { first: 1 });
  return data.notifications.edges[0].node;
}

describe('notificationAdded', () => {
  it('streams the caller’s new in-app items in the current organization, and nobody else’s', async () => {
    const learner = A.actors.learner;
    // The same person signed in to organization B: a subscription of their own, in B.
    const sameInB = actor({ userId: learner.userId, tenantId: B.tenantId, roles: ['LEARNER'] });
    const [sub, inB] = [await subscribe(learner), await subscribe(sameInB)];

    // Not theirs (published first, so a leak would arrive first): a colleague's item, and the
    // person's own item in organization B. Then theirs.
    await welcome(A, A.learner2.id);
    await welcome(B, learner.userId!);
    await welcome(A, learner.userId!);

    const item = await newest(learner);
    expect(item).toMatchObject({ category: 'MEMBERSHIP', title: 'Welcome to Org A', read: false, readAt: null, course: null });
    expect(await sub.next()).toEqual({ data: { notificationAdded: item } });
    expect(await inB.next()).toEqual({ data: { notificationAdded: await newest(sameInB) } });
    expect((await newest(sameInB)).title).toBe('Welcome to Org B');

    // A redelivered event creates nothing and publishes nothing: the next two items arrive alone.
    const again = envelope(MemberAdded, { tenantId: A.tenantId, payload: { membershipId: randomUUID(), userId: learner.userId!, roles: ['LEARNER'], via: 'ADDED' } });
    await handle(h, again);
    await handle(h, again, `${again.id}-again`);
    await welcome(A, learner.userId!);
    const ids = [(await sub.next()).data?.notificationAdded.id, (await sub.next()).data?.notificationAdded.id];
    expect(ids[1]).toBe((await newest(learner)).id);
    expect(new Set([item.id, ...ids]).size).toBe(3);
    // Every item published after those was received by now; nothing else is queued, in A or B.
    expect(sub.pending).toBe(0);
    expect(inB.pending).toBe(0);
  });

  it('sends nothing for an item the person turned off in-app', async () => {
    const learner = A.actors.learner2;
    const sub = await subscribe(learner);
    await setPreference(h, learner, 'MEMBERSHIP', 'IN_APP', 'OFF');
    await welcome(A, learner.userId!);
    // With in-app on again, the next item is the first to arrive.
    await setPreference(h, learner, 'MEMBERSHIP', 'IN_APP', 'IMMEDIATE');
    await welcome(A, learner.userId!);
    const { rows } = await h.admin.query(
      'select id from notifications.notifications where tenant_id = $1 and user_id = $2 and in_app order by created_at desc limit 1',
      [A.tenantId, learner.userId],
    );
    expect((await sub.next()).data?.notificationAdded.id).toBe(globalId('Notification', rows[0].id));
    expect(sub.pending).toBe(0);
  });

  it('is for people signed in to an organization only', async () => {
    const key = actor({ kind: 'api_key', userId: null, tenantId: A.tenantId, apiKeyId: randomUUID(), scopes: ['catalog:read'] });
    const noOrg = actor({ tenantId: null, roles: [] });
    for (const [who, code] of [
      [key, 'FORBIDDEN'],
      [noOrg, 'UNAUTHENTICATED'],
    ] as const) {
      const sub = await subscribe(who);
      expect((await sub.next()).errors?.[0]?.extensions?.code).toBe(code);
    }
  });
});

describe('publishing after commit', () => {
  it('runs once the transaction the items were written in commits, never after a rollback, never at a savepoint', async () => {
    const orm = h.notifications.deps.orm;
    const calls: string[] = [];
    await inTenant(orm, A.tenantId, (uow) =>
      uow.write(async (em) => {
        afterCommit(em, () => calls.push('committed'));
        // A nested write is a savepoint: releasing it commits nothing yet.
        await uow.write(async (inner) => afterCommit(inner, () => calls.push('savepoint')));
        expect(calls).toEqual([]);
      }),
    );
    expect(calls).toEqual(['committed']);
    const failing = inTenant(orm, A.tenantId, (uow) =>
      uow.write(async (em) => {
        afterCommit(em, () => calls.push('rolled back'));
        throw new Error('the delivery failed');
      }),
    );
    await expect(failing).rejects.toThrow('the delivery failed');
    expect(calls).toEqual(['committed']);
  });
});
