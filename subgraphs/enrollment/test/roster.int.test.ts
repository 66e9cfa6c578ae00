// Roster import of 1,000 rows (100 bad; five batches of 200) through the worker (the
// 10,000-row volume is `pnpm bench enroll`'s): good rows enrolled, bad ones
// reported with reasons, and running it again changes nothing. An import whose job fails for
// good is FAILED with a reason, and replaying its dead letter resumes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { inTenant } from '@lectern/kernel';
import { listDeadLetters, replayDeadLetter, startJobWorker } from '@lectern/kernel/consumers';
import { createLogger } from '@lectern/kernel/logger';
import { bullPrefix, producerConnection, queueFactory, workerConnection } from '@lectern/kernel/queues';
import { globalId, parseGlobalId } from '@lectern/kernel';
import { jobQueueName } from '@lectern/kernel/worker';
import { until } from '@lectern/testkit';
import { Redis } from 'ioredis';
import type { SubgraphRuntime } from '../src/runtime.ts';
import { importRosterJob } from '../src/modules/roster/import-roster.job.ts';
import { remoteContexts, type Remote } from '../src/modules/remote/remote.ts';
import { call, idem, M, offeringWithCohort, ok, outboxTypes, seedOrg, startHarness, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;

beforeAll(async () => {
  h = await startHarness('roster', { worker: true, env: { ROSTER_SWEEP_INTERVAL_MS: '300' } });
  org = await seedOrg(h, 'roster-org');
  // 900 members straight into identity's tables (seeding through argon2 would take minutes).
  await h.admin.query(
    `insert into identity.users (id, email, display_name) select gen_random_uuid(), 'person' || i || '@roster.example', 'Person ' || i from generate_series(1, 900) i`,
  );
  await h.admin.query(
    `insert into identity.memberships (id, tenant_id, user_id, roles, status)
     select gen_random_uuid(), $1, id, '{LEARNER}', 'ACTIVE' from identity.users where email like '%@roster.example'`,
    [org.tenantId],
  );
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const IMPORT = `query($id: ID!, $after: String) { rosterImport(id: $id) {
  id status total processed enrolled alreadyEnrolled rejected
  rows(first: 100, after: $after, filter: { status: [REJECTED] }) { nodes { id rowNumber identifier status reason } pageInfo { hasNextPage endCursor } totalCount }
} }`;

/** The UUID inside a global id (SQL and jobs keep UUIDs). */
const uuid = (id: string) => parseGlobalId(id)!.keys[0]!;

async function finished(id: string, statuses = ['COMPLETED', 'FAILED']) {
  return until(async () => (await ok(h, org.admin, IMPORT, { id })).rosterImport, (r) => statuses.includes(r.status), 25_000);
}

function roster(): string {
  const lines = ['email'];
  for (let i = 1; i <= 900; i++) lines.push(`person${i}@roster.example`);
  for (let i = 0; i < 40; i++) lines.push(`not-an-email-${i}`);
  for (let i = 0; i < 40; i++) lines.push(`stranger${i}@elsewhere.example`);
  for (let i = 1; i <= 20; i++) lines.push(`Person${i}@roster.example`); // duplicates, other case
  return lines.join('\n');
}

describe('roster import', () => {
  it('enrolls 900 of 1,000 rows, reports the 100 bad ones, and a rerun changes nothing', async () => {
    const { offeringId, cohortId } = await offeringWithCohort(h, org, { capacity: 20_000 });
    const csv = roster();
    const key = idem();
    const started = (await ok(h, org.admin, M.importRoster, { input: { offeringId, cohortId, csv, idempotencyKey: key } })).importRoster;
    expect(started.errors).toEqual([]);
    // Accepted, not done: the payload is read after the mutation committed, when the worker may already have begun.
    expect(started.rosterImport).toMatchObject({ status: expect.stringMatching(/^(QUEUED|RUNNING)$/), total: 1_000 });
    const done = await finished(started.rosterImport.id);
    expect(done).toMatchObject({ status: 'COMPLETED', total: 1_000, processed: 1_000, enrolled: 900, alreadyEnrolled: 0, rejected: 100 });

    expect(done.rows.totalCount).toBe(100);
    const rejected: { id: string; rowNumber: number; reason: string; identifier: string }[] = [...done.rows.nodes];
    let page = done.rows.pageInfo;
    while (page.hasNextPage) {
      const next = (await ok(h, org.admin, IMPORT, { id: done.id, after: page.endCursor })).rosterImport.rows;
      rejected.push(...next.nodes);
      page = next.pageInfo;
    }
    expect(rejected).toHaveLength(100);
    const reasons = rejected.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.reason.replace(/\d+/g, 'N')]: (acc[r.reason.replace(/\d+/g, 'N')] ?? 0) + 1 }), {});
    expect(reasons).toEqual({ 'malformed email': 40, 'not an active member of the organization': 40, 'duplicate of row N': 20 });

    // a row refetches by its global id (import id and row number)
    const row = rejected[0]!;
    expect(parseGlobalId(row.id)).toEqual({ type: 'RosterImportRow', keys: [uuid(done.id), String(row.rowNumber)] });
    const again1 = await ok(h, org.admin, `query($r: [_Any!]!) { _entities(representations: $r) { ... on RosterImportRow { id rowNumber reason rosterImport { id } } } }`, {
      r: [{ __typename: 'RosterImportRow', id: row.id }, { __typename: 'RosterImportRow', id: globalId('RosterImportRow', uuid(done.id), '99999') }, { __typename: 'RosterImport', id: done.id }],
    });
    expect(again1._entities).toEqual([{ id: row.id, rowNumber: row.rowNumber, reason: row.reason, rosterImport: { id: done.id } }, null, {}]);
    expect((await ok(h, org.learner, `query($r: [_Any!]!) { _entities(representations: $r) { ... on RosterImportRow { id } } }`, { r: [{ __typename: 'RosterImportRow', id: row.id }] }))._entities).toEqual([null]);

    const count = async () => (await h.admin.query(`select count(*)::int as n from enrollment.enrollments where cohort_id = $1 and status = 'ACTIVE'`, [uuid(cohortId)])).rows[0].n;
    expect(await count()).toBe(900);
    const events = await outboxTypes(h);
    expect(events['enrollment.LearnerEnrolled']).toBe(900);

    // The same request again: the same import, nothing new.
    const replay = (await ok(h, org.admin, M.importRoster, { input: { offeringId, cohortId, csv, idempotencyKey: key } })).importRoster;
    expect(replay.rosterImport.id).toBe(started.rosterImport.id);
    // A new import of the same rows: everyone is already enrolled.
    const again = (await ok(h, org.admin, M.importRoster, { input: { offeringId, cohortId, csv, idempotencyKey: idem() } })).importRoster;
    const second = await finished(again.rosterImport.id);
    expect(second).toMatchObject({ status: 'COMPLETED', enrolled: 0, alreadyEnrolled: 900, rejected: 100 });
    expect(await count()).toBe(900);
    expect(await outboxTypes(h)).toEqual(events);
    const { rows } = await h.admin.query('select count(*)::int as n from enrollment.unfinished_roster_imports');
    expect(rows[0].n).toBe(0);
  }, 60_000);

  it('refuses bad input and callers who may not import', async () => {
    const { offeringId, cohortId } = await offeringWithCohort(h, org, { capacity: 5 });
    const neither = await call(h, org.admin, M.importRoster, { input: { offeringId, cohortId, idempotencyKey: idem() } });
    expect(neither.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const header = await call(h, org.admin, M.importRoster, { input: { offeringId, cohortId, csv: 'name\nx', idempotencyKey: idem() } });
    expect(header.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const learner = await call(h, org.learner, M.importRoster, { input: { offeringId, cohortId, rows: [{ email: 'a@b.example' }], idempotencyKey: idem() } });
    expect(learner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The instructor of the cohort may, with rows.
    const mine = await ok(h, org.instructor, M.importRoster, {
      input: { offeringId, cohortId, rows: [{ userId: org.ids.learner }, { email: 'learner2@roster-org.example' }, { userId: org.learner2.userId }], idempotencyKey: idem() },
    });
    const done = await finished(mine.importRoster.rosterImport.id);
    // a raw UUID is not a user id clients send (they get global ids)
    expect(done).toMatchObject({ enrolled: 2, rejected: 1, rows: { nodes: [{ rowNumber: 3, identifier: org.learner2.userId, reason: 'malformed user id' }] } });
    const all = await ok(h, org.instructor, `query($id: ID!) { rosterImport(id: $id) { rows { nodes { rowNumber identifier status enrollment { learner { id } } } } } }`, { id: done.id });
    expect(all.rosterImport.rows.nodes[0]).toEqual({ rowNumber: 1, identifier: org.ids.learner, status: 'ENROLLED', enrollment: { learner: { id: org.ids.learner } } });
  });

  it('accepts an import while Redis cannot take its job, and runs it once Redis answers, without a restart', async () => {
    const { offeringId, cohortId } = await offeringWithCohort(h, org, { capacity: 50 });
    const runtime = h.enrollment.runtime as SubgraphRuntime;
    const real = runtime.queue;
    // The subgraph's queue now points at a Redis that is not there (nothing listens on port 1).
    const dead = producerConnection('redis://127.0.0.1:1');
    const deadQueues = queueFactory(dead, bullPrefix(h.env.REDIS_PREFIX));
    runtime.queue = deadQueues(jobQueueName('enrollment'));
    let started;
    try {
      started = (await ok(h, org.admin, M.importRoster, { input: { offeringId, cohortId, rows: [{ email: 'person101@roster.example' }, { email: 'person102@roster.example' }], idempotencyKey: idem() } })).importRoster;
    } finally {
      runtime.queue = real;
      await deadQueues.close().catch(() => {});
      dead.disconnect();
    }
    // Accepted: stored in PostgreSQL (the request waits at most a second for Redis; the sweep may already have started it).
    expect(started.errors).toEqual([]);
    expect(started.rosterImport).toMatchObject({ total: 2 });
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(started.rosterImport.status);
    // Redis never got the job; the worker (never restarted) runs the import from its sweep.
    const done = await finished(started.rosterImport.id);
    expect(done).toMatchObject({ status: 'COMPLETED', enrolled: 2, rejected: 0 });
  });

  it('runs an import whose job Redis lost (its keys flushed) within seconds, without a restart', async () => {
    const { offeringId, cohortId } = await offeringWithCohort(h, org, { capacity: 50 });
    const importId = randomUUID();
    // RUNNING when Redis lost its data: its job (delayed here, so the worker does not take it first) is gone with the flush.
    await h.admin.query(
      `insert into enrollment.roster_imports (id, tenant_id, offering_id, cohort_id, status, total, created_by) values ($1, $2, $3, $4, 'RUNNING', 3, $5)`,
      [importId, org.tenantId, uuid(offeringId), uuid(cohortId), org.admin.userId],
    );
    await h.admin.query(
      `insert into enrollment.roster_import_rows (tenant_id, import_id, row_number, identifier, kind, status)
       select $1, $2, i, 'person' || (200 + i) || '@roster.example', 'EMAIL', 'PENDING' from generate_series(1, 3) i`,
      [org.tenantId, importId],
    );
    const queue = h.worker!.deps.queues(jobQueueName('enrollment'));
    await queue.add(importRosterJob.def.name, { tenantId: org.tenantId, importId }, { jobId: importId, delay: 3600_000 });
    await h.admin.query(`insert into enrollment.unfinished_roster_imports (import_id, organization_id) values ($1, $2)`, [importId, org.tenantId]);
    // The sweep finds the job there and leaves it: one job per import.
    await h.worker!.runtime.sweep.run();
    expect(await (await queue.getJob(importId))?.getState()).toBe('delayed');
    // FLUSHALL of this test's Redis prefix (never of the shared server).
    const redis = new Redis(h.env.REDIS_URL);
    try {
      const keys = await redis.keys(`${bullPrefix(h.env.REDIS_PREFIX)}:${jobQueueName('enrollment')}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    const done = await finished(globalId('RosterImport', importId));
    expect(done).toMatchObject({ status: 'COMPLETED', total: 3, processed: 3, enrolled: 3 });
    expect((await h.admin.query(`select count(*)::int as n from enrollment.unfinished_roster_imports where import_id = $1`, [importId])).rows[0].n).toBe(0);
  });

  it('marks an import FAILED, with why, when its job fails for good, and a replay of its dead letter resumes it', async () => {
    // This import runs on the test's own queue: the worker's sweep must not hand it to the real one meanwhile.
    await h.worker!.runtime.sweep.stop();
    const { offeringId, cohortId } = await offeringWithCohort(h, org, { capacity: 100 });
    // An import of 5 rows as importRoster records it (its own queued job is left to this test).
    const importId = randomUUID();
    await h.admin.query(
      `insert into enrollment.roster_imports (id, tenant_id, offering_id, cohort_id, status, total, created_by) values ($1, $2, $3, $4, 'QUEUED', 5, $5)`,
      [importId, org.tenantId, uuid(offeringId), uuid(cohortId), org.admin.userId],
    );
    await h.admin.query(
      `insert into enrollment.roster_import_rows (tenant_id, import_id, row_number, identifier, kind, status)
       select $1, $2, i, 'person' || (800 + i) || '@roster.example', 'EMAIL', 'PENDING' from generate_series(1, 5) i`,
      [org.tenantId, importId],
    );
    await h.admin.query(`insert into enrollment.unfinished_roster_imports (import_id, organization_id) values ($1, $2)`, [importId, org.tenantId]);
    // identity answers the first batch of 2, then is unreachable until `down` is cleared
    const real = remoteContexts(h.env);
    let calls = 0;
    let down = true;
    const remote: Remote = {
      courses: (t, ids) => real.courses(t, ids),
      courseVersions: (t, ids) => real.courseVersions(t, ids),
      members: (t, q) => (++calls > 1 && down ? Promise.reject(new Error('identity did not answer within 10000 ms')) : real.members(t, q)),
    };
    const orm = h.enrollment.deps.orm;
    const queue = `jobs-roster-failure-${randomUUID().slice(0, 8)}`;
    const prefix = bullPrefix(h.env.REDIS_PREFIX);
    const connection = workerConnection(h.env.REDIS_URL);
    const producer = workerConnection(h.env.REDIS_URL);
    const queues = queueFactory(producer, prefix, { attempts: 1 });
    const worker = startJobWorker([importRosterJob.with({ orm, remote, batchSize: 2 })], { queue, orm, connection, prefix, log: createLogger('roster-failure-test', 'silent') });
    try {
      await queues(queue).add(importRosterJob.def.name, { tenantId: org.tenantId, importId }, { jobId: importId });
      const gidOf = globalId('RosterImport', importId);
      const failed = await finished(gidOf);
      expect(failed).toMatchObject({ status: 'FAILED', total: 5, processed: 2, enrolled: 2 });
      const view = (await ok(h, org.admin, `query($id: ID!) { rosterImport(id: $id) { failure finishedAt } }`, { id: gidOf })).rosterImport;
      expect(view.failure).toBe('The import stopped after 1 failed attempts; 3 rows were not processed yet. It resumes from them when an operator replays it.');
      expect(view.finishedAt).not.toBeNull();
      expect((await h.admin.query(`select count(*)::int as n from enrollment.unfinished_roster_imports where import_id = $1`, [importId])).rows[0].n).toBe(0);
      // the operator's view has the error itself; replaying it resumes from the 3 rows left
      down = false;
      const letters = await inTenant(orm, org.tenantId, async (uow) => listDeadLetters(await uow.em(), uow.tenantId));
      const letter = letters.find((l) => l.jobId === importId)!;
      expect(letter.error).toContain('identity did not answer');
      expect(await inTenant(orm, org.tenantId, async (uow) => replayDeadLetter(await uow.em(), uow.tenantId, letter.id, queues))).toBe(true);
      const resumed = await finished(gidOf, ['COMPLETED']);
      expect(resumed).toMatchObject({ status: 'COMPLETED', total: 5, processed: 5, enrolled: 5, rejected: 0 });
      expect((await ok(h, org.admin, `query($id: ID!) { rosterImport(id: $id) { failure } }`, { id: gidOf })).rosterImport.failure).toBeNull();
    } finally {
      h.worker!.runtime.sweep.start(300);
      await worker.close();
      await queues(queue).obliterate({ force: true }).catch(() => {});
      await queues.close();
      connection.disconnect();
      producer.disconnect();
    }
  });
});
