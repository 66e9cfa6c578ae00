// The assessment worker process: relays assessment's outbox (AttemptSubmitted, AttemptGraded,
// QuizPassed for learning, QuizFailed), consumes enrollment's roster events (events-assessment),
// runs the expire-attempt jobs (jobs-assessment) that submit and grade attempts at their
// deadline, and sweeps for overdue attempts whose job Redis lost (modules/attempt/deadline.ts).
// `node subgraphs/assessment/src/worker.ts` runs it; importing this file only defines it.
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { ASSESSMENT } from '@lectern/contracts/assessment';
import { routes } from '@lectern/contracts/subscriptions';
import { entities } from './entities.ts';
import { loadEnv, type AssessmentEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { deadlineSweep, expireAttemptJob, type DeadlineSweep } from './modules/attempt/deadline.ts';
import { AttemptItemsCache } from './modules/attempt/item-cache.ts';
import { rosterHandlers } from './modules/roster/roster.handlers.ts';

export interface WorkerRuntime {
  sweep: DeadlineSweep;
  /** The questions each attempt showed (immutable once it started), shared by the jobs and the sweep. */
  shown: AttemptItemsCache;
}

export const assessmentWorker: WorkerDefinition<AssessmentEnv, WorkerRuntime> = {
  name: ASSESSMENT,
  entities,
  migrations,
  routes,
  runtime: ({ orm, log }) => {
    const shown = new AttemptItemsCache();
    return { shown, sweep: deadlineSweep({ orm, log, shown }) };
  },
  handlers: () => rosterHandlers(),
  jobs: (_deps, { shown }) => [expireAttemptJob.with(shown)],
  init: async ({ env }, { sweep }) => sweep.start(env.DEADLINE_SWEEP_INTERVAL_MS),
  readiness: (_deps, { sweep }) => ({
    deadlines: async () => {
      if (sweep.failing) throw new Error('the deadline sweep is failing');
    },
  }),
  close: (_deps, { sweep }) => sweep.stop(),
  // Deadlines cluster (a class starts together, so its attempts expire together): grade many at once.
  concurrency: 32,
};

if (import.meta.main) await runWorker(assessmentWorker, loadEnv());
