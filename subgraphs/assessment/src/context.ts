// The per-request context: the kernel's (actor, unit of work, log) plus this request's
// DataLoaders and the services resolvers call. Codegen types resolvers with it.
import type { SubgraphContext } from '@lectern/kernel/subgraph';
import { viewerOf, type Viewer } from './access.ts';
import { createLoaders, type AssessmentLoaders } from './loaders.ts';
import { AccommodationService } from './modules/accommodation/accommodation.service.ts';
import { AttemptService } from './modules/attempt/attempt.service.ts';
import { BankService } from './modules/bank/bank.service.ts';
import { QuizService } from './modules/quiz/quiz.service.ts';
import { ReviewService } from './modules/review/review.service.ts';
import { createStatisticsLoaders } from './modules/statistics/statistics.reads.ts';
import type { SubgraphRuntime } from './runtime.ts';

export type Context = SubgraphContext & {
  viewer: Viewer;
  loaders: AssessmentLoaders;
  statistics: ReturnType<typeof createStatisticsLoaders>;
  banks: BankService;
  quizzes: QuizService;
  attempts: AttemptService;
  review: ReviewService;
  accommodations: AccommodationService;
};

export function createContext(base: SubgraphContext, rt: SubgraphRuntime): Context {
  const viewer = viewerOf(base.actor);
  const loaders = createLoaders(base.uow, base.actor.tenantId, viewer);
  const deps = { actor: base.actor, uow: base.uow, loaders, viewer, catalog: rt.catalog, deadlines: rt.deadlines, shown: rt.shown, log: base.log };
  return {
    ...base,
    viewer,
    loaders,
    statistics: createStatisticsLoaders(base.uow, base.actor.tenantId, viewer),
    banks: new BankService(deps),
    quizzes: new QuizService(deps),
    attempts: new AttemptService(deps),
    review: new ReviewService(deps),
    accommodations: new AccommodationService(deps),
  };
}
