import { startSubgraph, type RunningSubgraph } from '@lectern/kernel/subgraph';
import type { Logger } from '@lectern/kernel/logger';
import { identity } from './subgraph.ts';
import type { IdentityEnv } from './env.ts';

export { loadEnv } from './env.ts';
export { identity, entities } from './subgraph.ts';
export { migrations } from './migrations/index.ts';

export function startIdentity(env: IdentityEnv, opts: { port?: number; log?: Logger } = {}): Promise<RunningSubgraph<IdentityEnv>> {
  return startSubgraph(identity, env, opts);
}
export { createSuperAdmin, type SuperAdminOptions, type SuperAdminOutcome } from './operators.ts';
