// The process-wide pieces of the subgraph (the request path) and of the worker, built once
// from their dependencies: the clients of catalog and identity, and the job queue.
import type { Queue } from 'bullmq';
import { bullPrefix, producerConnection, queueFactory } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { ENROLLMENT } from '@lectern/contracts/enrollment';
import type { EnrollmentEnv } from './env.ts';
import { remoteContexts, type Remote } from './modules/remote/remote.ts';

export interface SubgraphRuntime {
  remote: Remote;
  queue: Queue;
  close(): Promise<void>;
}

const runtimes = new WeakMap<object, SubgraphRuntime>();

export function createSubgraphRuntime(key: object, env: EnrollmentEnv): SubgraphRuntime {
  const connection = producerConnection(env.REDIS_URL);
  const queues = queueFactory(connection, bullPrefix(env.REDIS_PREFIX));
  const rt: SubgraphRuntime = {
    remote: remoteContexts(env),
    queue: queues(jobQueueName(ENROLLMENT)),
    async close() {
      await queues.close().catch(() => {});
      connection.disconnect();
    },
  };
  runtimes.set(key, rt);
  return rt;
}

export function subgraphRuntime(key: object): SubgraphRuntime {
  const rt = runtimes.get(key);
  if (!rt) throw new Error('enrollment runtime not initialised');
  return rt;
}
