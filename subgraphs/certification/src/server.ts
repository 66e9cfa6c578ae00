// What the rest of the repository may start or wire up: the subgraph, its worker, migrations
// and entities (scripts run them; tests start them in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { CertificationEnv } from './env.ts';
import type { SubgraphRuntime } from './runtime.ts';
import { certification } from './subgraph.ts';
import { certificationWorker, type WorkerRuntime } from './worker.ts';

/** Starts the certification subgraph (in-process for tests; main.ts for the real process). */
export async function startCertification(env: CertificationEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<CertificationEnv, SubgraphRuntime>> {
  const running = await startSubgraph(certification, env, opts);
  if (!running.runtime.origin.value) running.runtime.origin.value = new URL(running.url).origin;
  return running;
}

/**
 * Starts the certification worker (outbox relay, completions and grades, issue-certificate jobs,
 * sweep). Its URLs use CERTIFICATION_PUBLIC_URL, else the subgraph's PORT: give tests' workers the
 * subgraph's origin as CERTIFICATION_PUBLIC_URL.
 */
export function startCertificationWorker(env: CertificationEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<CertificationEnv, WorkerRuntime>> {
  return startWorker(certificationWorker(env), env, opts);
}

export { certification, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type CertificationEnv } from './env.ts';
