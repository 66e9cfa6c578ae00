// Shared set-up of certification's integration tests: a fresh database per test file
// (certification's schema), a stand-in for identity and catalog (stubs.ts), and the subgraph and
// its worker started in-process on it under a private Redis prefix, storing PDFs in a folder of
// the test's own. Events arrive as the relay delivers them: jobs on events-certification.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { globalId, inTenant } from '@lectern/kernel';
import { deliveredEnvelope } from '@lectern/kernel/outbox';
import { bullPrefix, eventQueueName } from '@lectern/kernel/queues';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import type { RunningWorker } from '@lectern/kernel/worker';
import { createTestDatabase, dropRedisKeys, until, type TestDatabase } from '@lectern/testkit';
import { QuizPassed } from '@lectern/contracts/assessment';
import { CERTIFICATION } from '@lectern/contracts/certification';
import { CourseCompleted } from '@lectern/contracts/learning';
import { loadEnv, migrations, startCertification, startCertificationWorker, type CertificationEnv } from '../src/server.ts';
import type { SubgraphRuntime } from '../src/runtime.ts';
import type { WorkerRuntime } from '../src/worker.ts';
import { certificateRow, type CertificateView } from '../src/views.ts';
import { startStubs, type Stubs, type StubVersion } from './stubs.ts';
export { call, errorCode, idem, ok, until, actor } from '@lectern/testkit';
export type { StubVersion } from './stubs.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface Harness {
  db: TestDatabase;
  env: CertificationEnv;
  /** The environment as strings (for a worker started as its own process). */
  rawEnv: Record<string, string>;
  storageDir: string;
  stubs: Stubs;
  subgraph: RunningSubgraph<CertificationEnv, SubgraphRuntime>;
  worker: RunningWorker<CertificationEnv, WorkerRuntime> | null;
  url: string;
  /** events-certification, as the relays feed it. */
  events: Queue;
  startWorker(): Promise<RunningWorker<CertificationEnv, WorkerRuntime>>;
  close(): Promise<void>;
}

export async function startHarness(label: string, opts: { worker?: boolean; env?: Record<string, string> } = {}): Promise<Harness> {
  const db = await createTestDatabase({ certification: migrations }, label);
  const storageDir = await mkdtemp(join(tmpdir(), `lectern-certification-${label}-`));
  const cleanups: (() => Promise<unknown>)[] = [() => db.drop(), () => rm(storageDir, { recursive: true, force: true })];
  const close = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  try {
    const stubs = await startStubs();
    cleanups.push(() => stubs.close());
    const rawEnv: Record<string, string> = {
      ...db.env, WORKER_PORT: '0', STORAGE_DIR: storageDir, CATALOG_URL: stubs.url, IDENTITY_URL: stubs.url, CERTIFICATE_SWEEP_INTERVAL_MS: '500', CERTIFICATE_LOCK_MS: '3000', ...opts.env,
    };
    const subgraph = await startCertification(loadEnv(rawEnv));
    cleanups.push(() => subgraph.close());
    // The worker prints the subgraph's public URLs (verification page, status lists) into what it issues.
    rawEnv.CERTIFICATION_PUBLIC_URL = subgraph.runtime.origin.value;
    const env = loadEnv(rawEnv);
    const redis = new Redis(env.REDIS_URL).on('error', () => {});
    cleanups.push(() => dropRedisKeys(redis, env.REDIS_PREFIX));
    const events = new Queue(eventQueueName(CERTIFICATION), { connection: { url: env.REDIS_URL }, prefix: bullPrefix(env.REDIS_PREFIX) });
    cleanups.push(() => events.close());
    const h: Harness = {
      db, env, rawEnv, storageDir, stubs, subgraph, worker: null, url: subgraph.url, events, close,
      async startWorker() {
        const w = await startCertificationWorker(env);
        cleanups.push(() => w.close());
        h.worker = w;
        return w;
      },
    };
    if (opts.worker) await h.startWorker();
    return h;
  } catch (err) {
    await close();
    throw err;
  }
}

export const certificateGid = (uuid: string) => globalId('Certificate', uuid);
export const courseGid = (uuid: string) => globalId('Course', uuid);
export const userGid = (uuid: string) => globalId('User', uuid);

/** An organization with a name, and learners who are its members. */
export function organization(h: Harness, name = 'Acme Academy') {
  const tenantId = randomUUID();
  h.stubs.organization(tenantId, name);
  return {
    tenantId,
    learner(displayName = 'Ada Lovelace', email = `${randomUUID().slice(0, 8)}@example.org`) {
      const userId = randomUUID();
      h.stubs.member(tenantId, userId, displayName, email);
      return { userId, displayName, email };
    },
  };
}

/**
 * Delivers a CourseCompleted as the relay does (a job on events-certification), `times` times:
 * as one event re-sent (the same event id, new job ids: the relay re-delivered after its job was
 * gone) unless `distinct` makes each a new event for the same enrollment.
 */
export async function complete(
  h: Harness,
  tenantId: string,
  learnerId: string,
  version: StubVersion,
  opts: { enrollmentId?: string; times?: number; distinct?: boolean } = {},
): Promise<{ enrollmentId: string; eventId: string }> {
  const enrollmentId = opts.enrollmentId ?? randomUUID();
  const base = deliveredEnvelope(CourseCompleted, { tenantId, aggregateId: enrollmentId, payload: { enrollmentId, learnerId, courseId: version.courseId, courseVersionId: version.versionId } });
  const jobs = Array.from({ length: opts.times ?? 1 }, (_, i) => {
    const event = opts.distinct ? { ...base, id: randomUUID() } : base;
    return { name: event.type, data: event, opts: { jobId: `${event.id}-${i}` } };
  });
  await h.events.addBulk(jobs);
  return { enrollmentId, eventId: base.id };
}

/** Delivers a QuizPassed (the learner's grade in a quiz) as the relay does. */
export async function grade(h: Harness, tenantId: string, learnerId: string, quizId: string, score: number): Promise<void> {
  const event = deliveredEnvelope(QuizPassed, { tenantId, payload: { attemptId: randomUUID(), quizId, learnerId, score } });
  await h.events.add(event.type, event, { jobId: event.id });
}

/** Every certificate of an enrollment (there must never be more than one). */
export async function certificatesOf(h: Harness, tenantId: string, enrollmentId: string): Promise<CertificateView[]> {
  const rows = await inTenant(h.subgraph.deps.orm, tenantId, (uow) => uow.statement(`select * from certificates where tenant_id = ? and enrollment_id = ?`, [tenantId, enrollmentId]));
  return rows.map(certificateRow);
}

/** A certificate by id (null: none in that organization). */
export async function certificateById(h: Harness, tenantId: string, id: string): Promise<CertificateView | null> {
  const rows = await inTenant(h.subgraph.deps.orm, tenantId, (uow) => uow.statement(`select * from certificates where tenant_id = ? and id = ?`, [tenantId, id]));
  return rows[0] ? certificateRow(rows[0]) : null;
}

/** The enrollment's certificate once it is no longer PENDING. */
export async function issued(h: Harness, tenantId: string, enrollmentId: string, timeoutMs = 20_000): Promise<CertificateView> {
  const [c] = await until(
    () => certificatesOf(h, tenantId, enrollmentId),
    (cs) => cs.length > 0 && cs[0]!.status !== 'PENDING',
    timeoutMs,
  );
  return c!;
}
