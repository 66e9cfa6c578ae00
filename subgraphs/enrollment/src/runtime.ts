// The process-wide pieces of the subgraph (the request path), built once at start (the
// definition's `runtime`): the clients of catalog and identity, and the job queue.
import type { Queue } from 'bullmq';
import { requestQueues } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { ENROLLMENT } from '@lectern/contracts/enrollment';
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import type { EnrollmentEnv } from './env.ts';
import { remoteContexts, type Remote } from './modules/remote/remote.ts';

export interface SubgraphRuntime {
  remote: Remote;
  queue: Queue;
  close(): Promise<void>;
}

export function createSubgraphRuntime({ env }: SubgraphDeps<EnrollmentEnv>): SubgraphRuntime {
  const { queues, close } = requestQueues(env.REDIS_URL, env.REDIS_PREFIX);
  return { remote: remoteContexts(env), queue: queues(jobQueueName(ENROLLMENT)), close };
}
