// The certification worker process: relays certification's outbox, consumes learning's
// CourseCompleted and assessment's QuizPassed / QuizFailed (events-certification: completions
// and grades, evaluated against the course's rule), runs the issue-certificate job
// (jobs-certification: modules/issuance/issue.job.ts: sign the credential, render the PDF) and
// sweeps for certificates whose job Redis lost or never got.
// `node subgraphs/certification/src/worker.ts` runs it; importing this file only defines it.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Periodic } from '@lectern/kernel/periodic';
import { jobQueueName, runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { CERTIFICATION } from '@lectern/contracts/certification';
import { routes } from '@lectern/contracts/subscriptions';
import { createStorage, storageConfig, type ObjectStorage } from '@lectern/storage';
import { entities } from './entities.ts';
import { certificationSecret, loadEnv, type CertificationEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { CertificateUrls } from './modules/delivery/urls.ts';
import { issuanceHandlers } from './modules/issuance/issuance.handlers.ts';
import { certificationJobs, certificationSweep, generateProducer, type Generate } from './modules/issuance/issue.job.ts';
import { ensureIssuer } from './modules/issuer/issuer.ts';
import { directory, type Directory } from './modules/people/directory.ts';
import { publicOrigin } from './runtime.ts';

export interface WorkerRuntime {
  storage: ObjectStorage;
  urls: CertificateUrls;
  directory: Directory;
  generate: Generate;
  sweep: Periodic;
  secret: string;
}

/** The worker's definition for `env` (its concurrency and job lock are settings). */
export const certificationWorker = (env: CertificationEnv): WorkerDefinition<CertificationEnv, WorkerRuntime> => ({
  name: CERTIFICATION,
  entities,
  migrations,
  routes,
  runtime: ({ env, orm, log, queues }) => {
    const secret = certificationSecret(env);
    // The worker prints URLs into credentials and PDFs: the subgraph's public origin (PORT is the subgraph's, not the worker's).
    const origin = publicOrigin(env, { required: true });
    const urls = new CertificateUrls(secret, () => origin.value, env.CERTIFICATE_URL_TTL_SECONDS);
    const generate = generateProducer(queues(jobQueueName(CERTIFICATION)), log);
    return {
      secret,
      urls,
      generate,
      storage: createStorage(storageConfig(env)),
      directory: directory(env),
      sweep: certificationSweep({ orm, log, generate, graceMs: Math.min(env.CERTIFICATE_SWEEP_INTERVAL_MS, 10_000) }),
    };
  },
  handlers: (_deps, rt) =>
    issuanceHandlers({
      directory: rt.directory,
      issuer: (em: EntityManager, tenantId: string) => ensureIssuer(em, tenantId, rt.secret),
      origin: () => rt.urls.origin,
      generate: rt.generate,
    }),
  jobs: (_deps, rt) => certificationJobs({ storage: rt.storage, directory: rt.directory, urls: rt.urls, secret: rt.secret }),
  init: async ({ env }, { sweep }) => {
    sweep.start(env.CERTIFICATE_SWEEP_INTERVAL_MS);
  },
  redisRecovered: async (_deps, { sweep }) => {
    await sweep.run();
  },
  readiness: (_deps, { storage, sweep }) => ({
    storage: () => storage.check(),
    sweep: async () => {
      if (sweep.failing) throw new Error('the certification sweep is failing');
    },
  }),
  close: async (_deps, { sweep, storage }) => {
    await sweep.stop();
    await storage.close();
  },
  concurrency: env.CERTIFICATE_CONCURRENCY,
  lockDuration: env.CERTIFICATE_LOCK_MS,
  stalledInterval: env.CERTIFICATE_LOCK_MS,
});

if (import.meta.main) {
  const env = loadEnv();
  await runWorker(certificationWorker(env), env);
}
