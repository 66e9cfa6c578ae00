// Starts every subgraph and the gateway in-process on free ports against a fresh test
// database, and runs typed operations (from e2e/operations via codegen) through the gateway.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createTestDatabase, gql, type TestDatabase } from '@lectern/testkit';
import { loadEnv as identityEnv, migrations as identityMigrations, startIdentity } from '@lectern/identity/server';
import { loadEnv as catalogEnv, loadWorkerEnv as catalogWorkerEnv, migrations as catalogMigrations, startCatalog, startCatalogWorker } from '@lectern/catalog/server';
import { loadEnv as enrollmentEnv, migrations as enrollmentMigrations, startEnrollment, startEnrollmentWorker } from '@lectern/enrollment/server';
import { loadEnv as learningEnv, migrations as learningMigrations, startLearning, startLearningWorker } from '@lectern/learning/server';
import { loadEnv as notificationsEnv, migrations as notificationsMigrations, startNotifications, startNotificationsWorker } from '@lectern/notifications/server';
import { loadEnv as liveEnv, migrations as liveMigrations, startLive, startLiveWorker } from '@lectern/live/server';
import { loadEnv as assessmentEnv, migrations as assessmentMigrations, startAssessment, startAssessmentWorker } from '@lectern/assessment/server';
import { loadEnv as mediaEnv, migrations as mediaMigrations, startMedia, startMediaWorker } from '@lectern/media/server';
import { loadEnv as certificationEnv, migrations as certificationMigrations, startCertification, startCertificationWorker } from '@lectern/certification/server';
import { loadEnv as gatewayEnv, startGateway } from '@lectern/gateway/server';

const GENEROUS_LIMITS = {
  ...Object.fromEntries(
    ['ORG', 'USER', 'ANONYMOUS'].flatMap((who) => [
      [`RATE_LIMIT_${who}_PER_MINUTE`, '1000000'],
      [`RATE_LIMIT_${who}_BURST`, '1000000'],
    ]),
  ),
  COST_BUDGET_PER_MINUTE: '100000000',
};

export interface Stack {
  db: TestDatabase;
  identity: Awaited<ReturnType<typeof startIdentity>>;
  catalog: Awaited<ReturnType<typeof startCatalog>>;
  enrollment: Awaited<ReturnType<typeof startEnrollment>>;
  learning: Awaited<ReturnType<typeof startLearning>>;
  notifications: Awaited<ReturnType<typeof startNotifications>>;
  live: Awaited<ReturnType<typeof startLive>>;
  assessment: Awaited<ReturnType<typeof startAssessment>>;
  media: Awaited<ReturnType<typeof startMedia>>;
  certification: Awaited<ReturnType<typeof startCertification>>;
  gateway: Awaited<ReturnType<typeof startGateway>>;
  /** enrollment's, learning's, notifications', live's, assessment's and media's workers (relays, consumers, roster imports, heartbeat flusher, inbox, the rosters, attempt deadlines, transcodes), when asked for. */
  workers: { close(): Promise<void> }[];
  url: string;
  close(): Promise<void>;
}

/**
 * `opts.identity` adds to identity's environment (e.g. a higher LOGIN_MAX_ATTEMPTS_PER_IP for a
 * test that signs many people in from one address). `opts.catalogRelay` (with `workers`) also
 * starts catalog's worker, which relays CoursePublished and CourseUnpublished to their consumers.
 * `opts.certification` (with `workers`) also starts certification's worker (certificates from
 * completions): the other stacks leave it out, as PostgreSQL's connections are counted.
 */
export async function startStack(
  label: string,
  gatewayOverrides: Record<string, string> = {},
  opts: { workers?: boolean; catalogRelay?: boolean; certification?: boolean; identity?: Record<string, string>; live?: Record<string, string>; assessment?: Record<string, string>; media?: Record<string, string> } = {},
): Promise<Stack> {
  const db = await createTestDatabase({
      identity: identityMigrations,
      catalog: catalogMigrations,
      enrollment: enrollmentMigrations,
      learning: learningMigrations,
      notifications: notificationsMigrations,
      live: liveMigrations,
      assessment: assessmentMigrations,
      media: mediaMigrations,
      certification: certificationMigrations,
    }, label);
  // Smaller pools than production's 10: subgraphs 4, workers 6 (their jobs run many at once).
  // Two stacks (two e2e files side by side, 16 processes each) and the other tests' databases
  // then fit in PostgreSQL's default 100 connections.
  const env = { ...db.env, DATABASE_POOL_MAX: '4' };
  const identity = await startIdentity(identityEnv({ ...env, ...opts.identity }));
  // media's objects in a folder of this stack's own; catalog asks media whether a lesson's video is READY.
  // One ffmpeg thread: test files run side by side on two cores.
  const mediaOpts = { STORAGE_DIR: join(tmpdir(), `lectern-e2e-media-${label}-${process.pid}`), TRANSCODE_THREADS: '1', ...opts.media };
  const media = await startMedia(mediaEnv({ ...env, ...mediaOpts }));
  const catalog = await startCatalog(catalogEnv({ ...env, MEDIA_URL: media.url }));
  // enrollment and learning read catalog's and identity's internal endpoints (workers too).
  const urls = { IDENTITY_URL: identity.url, CATALOG_URL: catalog.url };
  const peers = { ...env, ...urls };
  const worker = { ...db.env, ...urls, WORKER_PORT: '0', DATABASE_POOL_MAX: '6' };
  // certification's objects (PDFs) in a folder of this stack's own.
  const certificationOpts = { STORAGE_DIR: join(tmpdir(), `lectern-e2e-certificates-${label}-${process.pid}`) };
  const certification = await startCertification(certificationEnv({ ...peers, ...certificationOpts }));
  const enrollment = await startEnrollment(enrollmentEnv(peers));
  const learning = await startLearning(learningEnv(peers));
  const workers = opts.workers
    ? [
        // catalog's relay (CoursePublished, CourseUnpublished) only when a test needs its events
        // delivered (media's published videos): otherwise notifications would announce every
        // seeded course, asking identity, under other tests' statement counts.
        ...(opts.catalogRelay ? [await startCatalogWorker(catalogWorkerEnv(worker))] : []),
        await startEnrollmentWorker(enrollmentEnv(worker)),
        await startLearningWorker(learningEnv(worker)),
        await startNotificationsWorker(notificationsEnv({ ...worker, DIGEST_INTERVAL_MINUTES: '0', MAIL_DIR: join(tmpdir(), `lectern-e2e-mail-${label}`) })),
        await startLiveWorker(liveEnv(worker)),
        await startAssessmentWorker(assessmentEnv({ ...worker, ...opts.assessment })),
        await startMediaWorker(mediaEnv({ ...worker, ...mediaOpts })),
        // It prints the subgraph's public URLs (verification page, status lists) into what it issues.
        ...(opts.certification ? [await startCertificationWorker(certificationEnv({ ...worker, ...certificationOpts, CERTIFICATION_PUBLIC_URL: certification.runtime.origin.value }))] : []),
      ]
    : [];
  const notifications = await startNotifications(notificationsEnv(env));
  const live = await startLive(liveEnv({ ...env, ...opts.live }));
  const assessment = await startAssessment(assessmentEnv({ ...peers, ...opts.assessment }));
  const gateway = await startGateway(
    gatewayEnv({ ...env, IDENTITY_URL: identity.url, CATALOG_URL: catalog.url,
      ENROLLMENT_URL: enrollment.url,
      LEARNING_URL: learning.url,
      NOTIFICATIONS_URL: notifications.url,
      LIVE_URL: live.url,
      ASSESSMENT_URL: assessment.url,
      MEDIA_URL: media.url,
      CERTIFICATION_URL: certification.url,
      // Limits no test's volume reaches (a test of the limits sets its own).
      ...GENEROUS_LIMITS,
      ...gatewayOverrides }),
  );
  const stack: Stack = {
    db,
    identity,
    catalog,
    enrollment,
    learning,
    notifications,
    live,
    assessment,
    media,
    certification,
    gateway,
    workers,
    url: gateway.url,
    // Closes what the stack holds now (a test may have restarted a process in place).
    async close() {
      await stack.gateway.close();
      for (const w of stack.workers) await w.close();
      await stack.catalog.close();
      await stack.enrollment.close();
      await stack.learning.close();
      await stack.notifications.close();
      await stack.live.close();
      await stack.assessment.close();
      await stack.media.close();
      await stack.certification.close();
      await stack.identity.close();
      await rm(mediaOpts.STORAGE_DIR, { recursive: true, force: true });
      await rm(certificationOpts.STORAGE_DIR, { recursive: true, force: true });
      await db.drop();
    },
  };
  return stack;
}

export interface Result<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  body: string;
}

/** Runs a typed operation through the gateway. */
export async function run<T, V>(url: string, doc: TypedDocumentNode<T, V>, variables: V, token?: string, headers: Record<string, string> = {}): Promise<Result<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query: print(doc), variables }),
  });
  const body = await res.text();
  const parsed = JSON.parse(body) as { data?: T; errors?: Result<T>['errors'] };
  return { status: res.status, data: parsed.data, errors: parsed.errors, body };
}

/** Runs `query` (untyped) through the gateway at `url` as `token`'s holder; fails on any GraphQL error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- callers pin the shape they read
export async function okAs(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const r = await gql(url, query, variables, { token });
  if (r.errors?.length || !r.data) throw new Error(`unexpected errors: ${r.body}`);
  return r.data;
}
