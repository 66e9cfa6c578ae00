// The catalog subgraph as the kernel hosts it: SDL, resolvers, entities, migrations and the
// per-request context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { seesDrafts } from './access.ts';
import { createContext, type Context } from './context.ts';
import type { CatalogEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { CourseModuleSchema, LessonSchema } from './modules/content/content.entity.ts';
import { contentResolvers } from './modules/content/content.resolvers.ts';
import { CourseAuthorSchema, CoursePrerequisiteSchema, CourseSchema, CourseVersionSchema } from './modules/course/course.entity.ts';
import { courseResolvers, payloadResolvers } from './modules/course/course.resolvers.ts';
import { DateTime } from '@lectern/kernel/scalars';
import { internalRoute } from '@lectern/kernel/internal';
import { COURSE_STRUCTURE_PATH, courseStructureRequest } from '@lectern/contracts/catalog';
import { InternalService } from './modules/internal/internal.service.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

/** Mutation payload types: each resolves from the mutation's stored MutationResult. */
const PAYLOADS = [
  'CreateCoursePayload',
  'UpdateCoursePayload',
  'AddModulePayload',
  'UpdateModulePayload',
  'RemoveModulePayload',
  'AddLessonPayload',
  'UpdateLessonPayload',
  'RemoveLessonPayload',
  'MoveLessonPayload',
  'AddCoursePrerequisitePayload',
  'RemoveCoursePrerequisitePayload',
  'AddCourseAuthorPayload',
  'RemoveCourseAuthorPayload',
  'PublishCoursePayload',
  'UnpublishCoursePayload',
];

export const entities = [CourseSchema, CourseVersionSchema, CourseAuthorSchema, CoursePrerequisiteSchema, CourseModuleSchema, LessonSchema];

export const catalog: SubgraphDefinition<CatalogEnv, Context, SubgraphRuntime> = {
  name: 'catalog',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, _deps, runtime) => createContext(base, runtime),
  // Learners see the published catalog, the same for each of them; authors see drafts of their own.
  cacheScope: (actor) => (seesDrafts(actor) ? 'PRIVATE' : 'PUBLIC'),
  routes(deps) {
    const verifier = deps.serviceVerifier();
    const internal = new InternalService(deps.orm);
    // Other contexts (enrollment, learning, media, …) read course structure here, with their service credentials.
    return [
      internalRoute(COURSE_STRUCTURE_PATH, verifier, courseStructureRequest, (b) => internal.structure(b), ['enrollment', 'learning', 'notifications', 'assessment', 'media', 'certification']),
    ];
  },
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, courseResolvers, contentResolvers, Object.fromEntries(PAYLOADS.map((name) => [name, payloadResolvers])));
}
