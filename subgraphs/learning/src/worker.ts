// The learning worker process: consumes events-learning (enrollment's events → the
// enrollment projection; QuizPassed → quiz lessons), runs the heartbeat flusher, and relays
// learning's outbox (LessonCompleted, CourseCompleted) to its consumers.
// `node subgraphs/learning/src/worker.ts` runs it; importing this file only defines it.
// On SIGTERM the kernel stops the consumers, then `close` stops the flusher (final flush).
// After Redis lost its data the flusher's consumer groups are recreated (redisRecovered, and
// the flusher itself on NOGROUP): acknowledged heartbeats are flushed without a restart.
import { runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { LEARNING } from '@lectern/contracts/learning';
import { routes } from '@lectern/contracts/subscriptions';
import { loadEnv, type LearningEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { projectionHandlers } from './modules/projection/projection.handlers.ts';
import { entities } from './modules/progress/progress.entity.ts';
import { createWorkerRuntime, type WorkerRuntime } from './runtime.ts';

export const learningWorker: WorkerDefinition<LearningEnv, WorkerRuntime> = {
  name: LEARNING,
  entities,
  migrations,
  routes,
  runtime: createWorkerRuntime,
  handlers: (_deps, runtime) => projectionHandlers(runtime),
  async init(deps, runtime) {
    if (deps.env.FLUSHER_ENABLED) await runtime.startFlusher();
  },
  // The flusher also recreates a missing group on NOGROUP by itself (flusher.ts); this does it
  // as soon as the kernel sees Redis back without its data, before the next read fails.
  redisRecovered: async (_deps, runtime) => {
    await runtime.flusher?.recreateGroups();
  },
  // /readyz reports a flusher that cannot flush, beside the kernel's checks.
  readiness: (_deps, runtime) => runtime.readiness(),
  close: (_deps, runtime) => runtime.close(),
};

if (import.meta.main) await runWorker(learningWorker, loadEnv());
