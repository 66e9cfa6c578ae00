// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { managesAll } from './access.ts';
import { createLoaders, type EnrollmentLoaders } from './loaders.ts';
import { EnrollmentService } from './modules/enrollment/enrollment.service.ts';
import { OfferingService } from './modules/offering/offering.service.ts';
import { EnrollmentQueries } from './modules/enrollment/enrollment.queries.ts';
import { RosterService } from './modules/roster/roster.service.ts';
import type { SubgraphRuntime } from './runtime.ts';

export type Context = SubgraphContext & {
  loaders: EnrollmentLoaders;
  queries: EnrollmentQueries;
  offerings: OfferingService;
  enrollments: EnrollmentService;
  roster: RosterService;
};

export function createContext(base: SubgraphContext, rt: SubgraphRuntime): Context {
  const { actor } = base;
  const viewer = managesAll(actor) ? ({ all: true } as const) : ({ all: false, userId: actor.userId ?? '00000000-0000-0000-0000-000000000000' } as const);
  const loaders = createLoaders(base.uow, actor.tenantId, viewer);
  const deps = { actor, uow: base.uow, loaders, remote: rt.remote };
  return {
    ...base,
    loaders,
    queries: new EnrollmentQueries(deps),
    offerings: new OfferingService(deps),
    enrollments: new EnrollmentService(deps),
    roster: new RosterService({ ...deps, queue: rt.queue, log: base.log }),
  };
}
