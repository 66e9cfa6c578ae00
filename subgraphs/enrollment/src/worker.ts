// The enrollment worker process: relays enrollment's outbox to the contexts that subscribe to
// its events, consumes learning's CourseCompleted (events-enrollment) and runs roster imports
// (jobs-enrollment). It sweeps unfinished imports at start, as soon as Redis answers again (or
// comes back empty) and every ROSTER_SWEEP_INTERVAL_MS, so an import accepted while Redis was
// down (or whose job Redis lost) runs within seconds of Redis answering, without a restart
// (roster.sweep.ts).
// `node subgraphs/enrollment/src/worker.ts` runs it; importing this file only defines it.
import { jobQueueName, runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { ENROLLMENT } from '@lectern/contracts/enrollment';
import { routes } from '@lectern/contracts/subscriptions';
import { loadEnv, type EnrollmentEnv } from './env.ts';
import { entities } from './subgraph.ts';
import { migrations } from './migrations/index.ts';
import { courseCompletedHandler } from './modules/enrollment/completion.handler.ts';
import { remoteContexts, type Remote } from './modules/remote/remote.ts';
import { importRosterJob } from './modules/roster/import-roster.job.ts';
import { rosterSweep, type RosterSweep } from './modules/roster/roster.sweep.ts';

export interface EnrollmentWorkerRuntime {
  remote: Remote;
  sweep: RosterSweep;
}

export const enrollmentWorker: WorkerDefinition<EnrollmentEnv, EnrollmentWorkerRuntime> = {
  name: ENROLLMENT,
  entities,
  migrations,
  routes,
  runtime: (deps) => ({
    remote: remoteContexts(deps.env),
    sweep: rosterSweep({ orm: deps.orm, queue: deps.queues(jobQueueName(ENROLLMENT)), log: deps.log }),
  }),
  handlers: () => [courseCompletedHandler],
  jobs: (deps, runtime) => [importRosterJob.with({ orm: deps.orm, remote: runtime.remote })],
  async init(deps, runtime) {
    const found = await runtime.sweep.run();
    if (found) deps.log.info({ imports: found }, 'unfinished roster imports re-enqueued');
    runtime.sweep.start(deps.env.ROSTER_SWEEP_INTERVAL_MS);
  },
  // Idempotent (the job id is the import id); the kernel retries it until it succeeds.
  redisRecovered: async (_deps, runtime) => {
    await runtime.sweep.run();
  },
  readiness: (_deps, runtime) => ({
    rosterSweep: async () => {
      if (runtime.sweep.failing) throw new Error('cannot re-enqueue unfinished roster imports');
    },
  }),
  close: (_deps, runtime) => runtime.sweep.stop(),
};

if (import.meta.main) await runWorker(enrollmentWorker, loadEnv());
