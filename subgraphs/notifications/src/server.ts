// What the rest of the repository may start or wire up: the subgraph, its worker, migrations
// and entities (scripts run them; tests start them in-process).
import type { Logger } from '@lectern/kernel';
import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import { startWorker, type RunningWorker } from '@lectern/kernel/worker';
import type { NotificationsEnv } from './env.ts';
import type { SubgraphRuntime } from './runtime.ts';
import { notifications } from './subgraph.ts';
import { notificationsWorker } from './worker.ts';

/** Starts the notifications subgraph (in-process for tests; main.ts for the real process). */
export function startNotifications(env: NotificationsEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<NotificationsEnv, SubgraphRuntime>> {
  return startSubgraph(notifications, env, opts);
}

/** Starts the notifications worker (in-process for tests; worker.ts for the real process). */
export function startNotificationsWorker(env: NotificationsEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningWorker<NotificationsEnv>> {
  return startWorker(notificationsWorker, env, opts);
}

export { notifications, entities } from './subgraph.ts';
export { notificationsWorker } from './worker.ts';
export { migrations } from './migrations/index.ts';
export { loadEnv, type NotificationsEnv } from './env.ts';
