// Assessment's process-wide pieces (the request path), built once at start (the definition's
// `runtime`): catalog's client (a quiz's course) and the scheduler of expire-attempt jobs.
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import { requestQueues } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { ASSESSMENT } from '@lectern/contracts/assessment';
import type { AssessmentEnv } from './env.ts';
import { deadlineScheduler, type Deadlines } from './modules/attempt/deadline.ts';
import { catalogClient, type Catalog } from './modules/roster/catalog.ts';

export interface SubgraphRuntime {
  catalog: Catalog;
  deadlines: Deadlines;
  close(): Promise<void>;
}

export function createSubgraphRuntime({ env, log }: SubgraphDeps<AssessmentEnv>): SubgraphRuntime {
  const { queues, close } = requestQueues(env.REDIS_URL, env.REDIS_PREFIX);
  return { catalog: catalogClient(env), deadlines: deadlineScheduler(queues(jobQueueName(ASSESSMENT)), log), close };
}
