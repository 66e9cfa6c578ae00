// What the rest of the repository may start or wire up: the subgraph, its worker, migrations
// and entities (scripts run them; tests start them in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { AssessmentEnv } from './env.ts';
import type { SubgraphRuntime } from './runtime.ts';
import { assessment } from './subgraph.ts';
import { assessmentWorker, type WorkerRuntime } from './worker.ts';

/** Starts the assessment subgraph (in-process for tests; main.ts for the real process). */
export function startAssessment(env: AssessmentEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<AssessmentEnv, SubgraphRuntime>> {
  return startSubgraph(assessment, env, opts);
}

/** Starts the assessment worker (outbox relay, roster projection, expire-attempt jobs, deadline sweep). */
export function startAssessmentWorker(env: AssessmentEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<AssessmentEnv, WorkerRuntime>> {
  return startWorker(assessmentWorker, env, opts);
}

export { assessment, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type AssessmentEnv } from './env.ts';
