// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { createLoaders, type CatalogLoaders } from './loaders.ts';
import { ContentService } from './modules/content/content.service.ts';
import { CatalogQueries } from './modules/course/course.queries.ts';
import { CourseService } from './modules/course/course.service.ts';
import type { SubgraphRuntime } from './runtime.ts';

export type Context = SubgraphContext & {
  loaders: CatalogLoaders;
  queries: CatalogQueries;
  courses: CourseService;
  content: ContentService;
};

export function createContext(base: SubgraphContext, runtime: SubgraphRuntime): Context {
  const loaders = createLoaders(base.uow);
  const deps = { actor: base.actor, uow: base.uow, loaders, directory: runtime.directory, media: runtime.media };
  return {
    ...base,
    loaders,
    queries: new CatalogQueries(deps),
    courses: new CourseService(deps),
    content: new ContentService(deps),
  };
}
