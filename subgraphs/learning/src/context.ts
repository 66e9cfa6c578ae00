// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext } from '@lectern/kernel/subgraph';

export type Context = SubgraphContext;

export function createContext(base: SubgraphContext): Context {
  return base;
}
