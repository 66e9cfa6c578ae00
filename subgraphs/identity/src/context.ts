// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the process-wide services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { createLoaders, type Loaders } from './loaders.ts';
import type { SubgraphRuntime, Services } from './runtime.ts';

export type { Loaders, Services };

export type Context = SubgraphContext & {
  loaders: Loaders;
  services: Services;
  /** Users who proved who they are in this request (sign-in payloads may show them their own email). */
  signedIn: Set<string>;
};

/** The services are process-wide (built once with the runtime); loaders are per request. */
export function createContext(base: SubgraphContext, runtime: SubgraphRuntime): Context {
  return { ...base, loaders: createLoaders(base), services: runtime.services, signedIn: new Set() };
}
