// Process-wide pieces of the identity subgraph, built once at start.
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import type { IdentityEnv } from './env.ts';
import { TokenIssuer } from './modules/auth/tokens.ts';
import { resultSealer } from './modules/auth/secrets.ts';

export interface IdentityRuntime {
  deps: SubgraphDeps<IdentityEnv>;
  tokens: TokenIssuer;
  sealer: ReturnType<typeof resultSealer>;
}

const runtimes = new WeakMap<object, IdentityRuntime>();

export async function initRuntime(deps: SubgraphDeps<IdentityEnv>, privateJwk: string): Promise<IdentityRuntime> {
  const runtime: IdentityRuntime = {
    deps,
    tokens: await TokenIssuer.create(privateJwk, deps.env.ACCESS_TOKEN_TTL_SECONDS),
    sealer: resultSealer(`${privateJwk}:idempotency`),
  };
  runtimes.set(deps, runtime);
  return runtime;
}

export function runtimeOf(deps: SubgraphDeps<IdentityEnv>): IdentityRuntime {
  const r = runtimes.get(deps);
  if (!r) throw new Error('identity runtime not initialised');
  return r;
}
