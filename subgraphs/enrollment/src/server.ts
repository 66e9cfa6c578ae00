// What the rest of the repository may start or wire up: the subgraph, its worker, migrations
// and entities (scripts run them; tests start them in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { EnrollmentEnv } from './env.ts';
import { enrollment } from './subgraph.ts';
import { enrollmentWorker, type EnrollmentWorkerRuntime } from './worker.ts';

/** Starts the enrollment subgraph (in-process for tests; main.ts for the real process). */
export function startEnrollment(env: EnrollmentEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<EnrollmentEnv>> {
  return startSubgraph(enrollment, env, opts);
}

/** Starts the enrollment worker (outbox relay, CourseCompleted consumer, roster imports). */
export function startEnrollmentWorker(env: EnrollmentEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<EnrollmentEnv, EnrollmentWorkerRuntime>> {
  return startWorker(enrollmentWorker, env, opts);
}

export { enrollment, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type EnrollmentEnv } from './env.ts';
