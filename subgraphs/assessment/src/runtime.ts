// Assessment's process-wide pieces (the request path), built once at start (the definition's
// `runtime`): catalog's client (a quiz's course), the scheduler of expire-attempt jobs, and the
// cache of what each attempt showed.
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import { requestQueues } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { ASSESSMENT } from '@lectern/contracts/assessment';
import type { AssessmentEnv } from './env.ts';
import { deadlineScheduler, type Deadlines } from './modules/attempt/deadline.ts';
import { AttemptItemsCache } from './modules/attempt/item-cache.ts';
import { catalogClient, type Catalog } from './modules/roster/catalog.ts';

export interface SubgraphRuntime {
  catalog: Catalog;
  deadlines: Deadlines;
  /** The questions each attempt showed (immutable once it started): the autosave path reads them here. */
  shown: AttemptItemsCache;
  close(): Promise<void>;
}

export function createSubgraphRuntime({ env, log }: SubgraphDeps<AssessmentEnv>): SubgraphRuntime {
  const { queues, close } = requestQueues(env.REDIS_URL, env.REDIS_PREFIX);
  return { catalog: catalogClient(env), deadlines: deadlineScheduler(queues(jobQueueName(ASSESSMENT)), log), shown: new AttemptItemsCache(), close };
}
