// The learning worker process: consumes events-learning (enrollment's events → the
// enrollment projection; QuizPassed → quiz lessons), runs the heartbeat flusher, and relays
// learning's outbox (LessonCompleted, CourseCompleted) to its consumers.
// `node subgraphs/learning/src/worker.ts` runs it; importing this file only defines it.
// SIGTERM stops the flusher first (final flush), then the kernel's worker.
import { installShutdown } from '@lectern/kernel/http';
import { createLogger, type Logger } from '@lectern/kernel/logger';
import { startWorker, type RunningWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { LEARNING } from '@lectern/contracts/learning';
import { routes } from '@lectern/contracts/subscriptions';
import { loadEnv, type LearningEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { projectionHandlers } from './modules/projection/projection.handlers.ts';
import { entities } from './modules/progress/progress.entity.ts';
import { runtimeOf, type LearningRuntime } from './runtime.ts';

export const learningWorker: WorkerDefinition<LearningEnv> = {
  name: LEARNING,
  entities,
  migrations,
  routes,
  handlers: (deps) => projectionHandlers(runtimeOf(deps)),
  async init(deps) {
    if (deps.env.FLUSHER_ENABLED) await runtimeOf(deps).startFlusher();
  },
};

export interface RunningLearningWorker extends RunningWorker<LearningEnv> {
  runtime: LearningRuntime;
}

/** Starts the worker; close() stops the flusher (final flush) before the rest. */
export async function startLearningWorker(env: LearningEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningLearningWorker> {
  const running = await startWorker(learningWorker, env, opts);
  const runtime = runtimeOf(running.deps);
  return {
    ...running,
    runtime,
    async close() {
      await runtime.close();
      await running.close();
    },
  };
}

if (import.meta.main) {
  const env = loadEnv();
  const log = createLogger('learning-worker', env.LOG_LEVEL);
  try {
    const running = await startLearningWorker(env, { log });
    installShutdown(log, [() => running.close()], env.SHUTDOWN_GRACE_MS);
  } catch (err) {
    log.fatal({ err }, `learning worker failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}
