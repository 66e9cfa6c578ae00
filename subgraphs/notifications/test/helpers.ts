// Shared set-up of the notifications integration tests: a fresh database per test file,
// identity started in-process on it (its internal endpoints are real), the notifications
// subgraph and worker on the same database, a private BullMQ prefix and a private mail sink.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import pg from 'pg';
import type { Actor, Role } from '@lectern/kernel/actor';
import { bootstrapDatabase, connectionString, migrate, RELAY_ROLE } from '@lectern/kernel/db';
import type { EventEnvelope } from '@lectern/kernel/events';
import { bullPrefix, eventQueueName, queueFactory, workerConnection, type QueueFactory } from '@lectern/kernel/queues';
import { OutboxRelay } from '@lectern/kernel/relay';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { jobQueueName, type RunningWorker } from '@lectern/kernel/worker';
import { createLogger } from '@lectern/kernel/logger';
import { actor, ADMIN_URL, createTestDatabase, idem, type TestDatabase, ok, settled, until, adminPool } from '@lectern/testkit';
export { call, errorCode, ok } from '@lectern/testkit';
import { loadEnv as identityEnv, migrations as identityMigrations, startIdentity } from '@lectern/identity/server';
import { loadEnv as catalogEnv, migrations as catalogMigrations, startCatalog, type CatalogEnv } from '@lectern/catalog/server';
import { seedOrganizationWithPeople } from '@lectern/identity/testing';
import { routes } from '@lectern/contracts/subscriptions';
import { QUEUES } from '@lectern/contracts/queues';
import { loadEnv, migrations, startNotifications, startNotificationsWorker, type NotificationsEnv } from '../src/server.ts';
import { deliver, readMailSink, type SinkMessage } from '../src/testing/index.ts';

export { idem };

type IdentityEnv = Parameters<typeof startIdentity>[0];

/** GraphQL response data, navigated freely: the assertions are what pin its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

/** Retries in milliseconds, so a failing handler dead-letters within a test. */
export const FAST = { attempts: 3, backoff: { type: 'exponential', delay: 30, jitter: 0.5 }, removeOnComplete: { count: 10_000 }, removeOnFail: { count: 10_000 } } as const;

/**
 * The notifications schema in a test database. createTestDatabase creates the schemas of the
 * subgraphs in schema/supergraph.config.json; until notifications is listed there, this does
 * it (remove this helper then: createTestDatabase({ notifications: migrations }) suffices).
 */
export async function ensureNotificationsSchema(db: TestDatabase): Promise<void> {
  await bootstrapDatabase({ adminUrl: ADMIN_URL, database: db.name, subgraphs: [{ name: 'notifications' }] });
  await migrate({ ownerUrl: db.ownerUrl, schema: 'notifications', migrations });
}

export interface Harness {
  db: TestDatabase;
  env: NotificationsEnv;
  identity: RunningSubgraph<IdentityEnv>;
  /** catalog, when asked for (`catalog: true`): the worker reads course titles from it. */
  catalog: RunningSubgraph<CatalogEnv> | null;
  notifications: RunningSubgraph<NotificationsEnv>;
  worker: RunningWorker<NotificationsEnv> | null;
  url: string;
  mailDir: string;
  /** Superuser pool on the test database (sees through RLS): for assertions. */
  admin: pg.Pool;
  /** Producer-side queues under the processes' BullMQ prefix, with fast retries. */
  queues: QueueFactory;
  close(): Promise<void>;
}

export async function startHarness(
  label: string,
  opts: { worker?: boolean; catalog?: boolean; env?: Record<string, string>; extraMigrations?: Parameters<typeof createTestDatabase>[0] } = {},
): Promise<Harness> {
  const db = await createTestDatabase({ identity: identityMigrations, ...(opts.catalog ? { catalog: catalogMigrations } : {}), ...opts.extraMigrations }, label);
  const cleanups: (() => Promise<unknown>)[] = [() => db.drop()];
  const close = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  try {
    await ensureNotificationsSchema(db);
    const identity = await startIdentity(identityEnv({ ...db.env }));
    cleanups.push(() => identity.close());
    const catalog = opts.catalog ? await startCatalog(catalogEnv({ ...db.env, IDENTITY_URL: identity.url })) : null;
    if (catalog) cleanups.push(() => catalog.close());
    const mailDir = await mkdtemp(join(tmpdir(), 'lectern-mail-'));
    cleanups.push(() => rm(mailDir, { recursive: true, force: true }));
    const env = loadEnv({
      ...db.env,
      IDENTITY_URL: identity.url,
      // Without catalog here, nothing answers: a test that needs course titles asks for catalog.
      CATALOG_URL: catalog?.url ?? 'http://127.0.0.1:9/graphql',
      MAIL_DIR: mailDir,
      SMTP_URL: '',
      WORKER_PORT: '0',
      // Tests run send-digests themselves, at instants they choose.
      DIGEST_INTERVAL_MINUTES: '0',
      ...opts.env,
    });
    const notifications = await startNotifications(env);
    cleanups.push(() => notifications.close());
    const worker = opts.worker === false ? null : await startNotificationsWorker(env, { port: 0 });
    if (worker) cleanups.push(() => worker.close());
    const admin = adminPool(db, 2);
    cleanups.push(() => admin.end());
    const queueConnection = workerConnection(env.REDIS_URL);
    const queues = queueFactory(queueConnection, bullPrefix(env.REDIS_PREFIX), FAST);
    cleanups.push(async () => {
      for (const name of QUEUES) await queues(name).obliterate({ force: true }).catch(() => {});
      await queues.close();
      queueConnection.disconnect();
    });
    return { db, env, identity, catalog, notifications, worker, url: notifications.url, mailDir, admin, queues, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export const eventsQueue = (h: Harness): Queue => h.queues(eventQueueName('notifications'));
export const jobsQueue = (h: Harness): Queue => h.queues(jobQueueName('notifications'));

/** An organization seeded in identity (admin, instructor, two learners), as actors and ids. */
export async function seedOrg(h: Harness, slug: string) {
  const people = await seedOrganizationWithPeople(h.identity.deps.orm, slug);
  const as = (who: { id: string; roles: Role[] }): Actor => actor({ userId: who.id, tenantId: people.org.id, roles: who.roles });
  return {
    ...people,
    tenantId: people.org.id,
    actors: { admin: as(people.admin), instructor: as(people.instructor), learner: as(people.learner), learner2: as(people.learner2) },
  };
}
export type SeededOrg = Awaited<ReturnType<typeof seedOrg>>;

/** Sets a person's time zone in identity (seeds create everyone in UTC). */
export async function setTimeZone(h: Harness, userId: string, timeZone: string): Promise<void> {
  await h.admin.query('update identity.users set time_zone = $1 where id = $2', [timeZone, userId]);
}

export { settled, until };

/** Delivers an event as the relay would and waits until the worker has finished its job. */
export async function handle(h: Harness, event: EventEnvelope, jobId = event.id): Promise<string> {
  await deliver(eventsQueue(h), event, { jobId });
  const { state, job } = await settled(eventsQueue(h), jobId);
  if (state !== 'completed') throw new Error(`event job ${jobId} ${state}: ${job.failedReason}`);
  return job.returnvalue as string;
}

/** Runs send-digests for an organization at `now` through the worker; returns its report. */
export async function runDigests(h: Harness, tenantId: string, now: string) {
  const job = await jobsQueue(h).add('send-digests', { tenantId, now });
  const { state, job: done } = await settled(jobsQueue(h), job.id!);
  if (state !== 'completed') throw new Error(`send-digests ${state}: ${done.failedReason}`);
  return done.returnvalue as { pending: number; sent: { userId: string; frequency: string; periodKey: string; items: number }[] };
}

/** Moves a producer schema's outbox (identity, catalog) to notifications' queue, as that producer's relay would. */
export async function relay(h: Harness, schema: string): Promise<number> {
  const r = new OutboxRelay({
    url: connectionString(h.db.url, { user: RELAY_ROLE }),
    schema,
    routes,
    queue: h.queues,
    log: createLogger('test-relay', 'silent'),
  });
  try {
    let moved = 0;
    for (let n = await r.drain(); n > 0; n = await r.drain()) moved += n;
    return moved;
  } finally {
    await r.stop();
  }
}

export async function mail(h: Harness): Promise<SinkMessage[]> {
  return readMailSink(h.mailDir);
}


export const Q = {
  inbox: `query($first: Int, $after: String, $last: Int, $before: String, $filter: NotificationFilter) {
    notifications(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      edges { cursor node { id category title body link read readAt createdAt course { id } } }
      nodes { id }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
    unreadNotificationCount
  }`,
  count: `{ unreadNotificationCount }`,
  preferences: `{ notificationPreferences { id category channel frequency isDefault } }`,
  markRead: `mutation($input: MarkNotificationsReadInput!) {
    markNotificationsRead(input: $input) { notifications { id read } markedCount unreadCount errors { code message path } }
  }`,
  setPreference: `mutation($input: SetNotificationPreferenceInput!) {
    setNotificationPreference(input: $input) {
      preference { id category channel frequency isDefault }
      preferences { category channel frequency isDefault }
      errors { code message path }
    }
  }`,
  queueHealth: `query($first: Int, $after: String, $last: Int, $before: String, $filter: DeadLetterFilter) {
    queueHealth {
      queues { id queue waiting active delayed failed completed }
      deadLetters(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        edges { cursor node { id organization { id } queue jobId jobName error attempts failedAt replayedAt replayCount } }
        pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
        totalCount
      }
    }
  }`,
  replay: `mutation($input: ReplayDeadLetterInput!) {
    replayDeadLetter(input: $input) { deadLetter { id queue jobId replayCount replayedAt } errors { code message path } }
  }`,
  entities: `query($representations: [_Any!]!) {
    _entities(representations: $representations) {
      __typename
      ... on Notification { id title body category course { id } }
      ... on NotificationPreference { id category channel frequency }
      ... on DeadLetter { id queue jobId }
      ... on QueueCounts { id queue failed }
      ... on Viewer { id unreadNotificationCount }
    }
  }`,
};

/** Sets one preference through the API. */
export async function setPreference(h: Harness, who: Actor, category: string, channel: string, frequency: string) {
  const r = await ok(h, who, Q.setPreference, { input: { category, channel, frequency, idempotencyKey: idem() } });
  if (r.setNotificationPreference.errors.length) throw new Error(JSON.stringify(r.setNotificationPreference.errors));
}
