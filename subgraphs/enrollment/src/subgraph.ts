// The enrollment subgraph as the kernel hosts it: SDL, resolvers, entities, migrations and the
// per-request context. Used by main.ts and by the tests (through server.ts).
import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { DateTime } from '@lectern/kernel/scalars';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import { createContext, type Context } from './context.ts';
import type { EnrollmentEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { CourseCompletionSchema, EnrollmentSchema } from './modules/enrollment/enrollment.entity.ts';
import { CohortSchema, OfferingSchema, OfferingVersionChangeSchema } from './modules/offering/offering.entity.ts';
import { RosterImportRowSchema, RosterImportSchema } from './modules/roster/roster.entity.ts';
import { enrollmentResolvers, payloadResolvers, singlePromotedPayloadResolvers } from './modules/enrollment/enrollment.resolvers.ts';
import { offeringResolvers } from './modules/offering/offering.resolvers.ts';
import { rosterResolvers } from './modules/roster/roster.resolvers.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

/** Every entity of the schema (the subgraph and the worker share the list). */
export const entities = [OfferingSchema, OfferingVersionChangeSchema, CohortSchema, EnrollmentSchema, CourseCompletionSchema, RosterImportSchema, RosterImportRowSchema];

/** Mutation payload types: each resolves from the mutation's stored MutationResult. */
const PAYLOADS = [
  'CreateOfferingPayload',
  'UpdateOfferingPayload',
  'ChangeOfferingVersionPayload',
  'CreateCohortPayload',
  'UpdateCohortPayload',
  'SetCohortInstructorsPayload',
  'EnrollLearnerPayload',
  'ImportRosterPayload',
];
/** DropEnrollmentPayload and MoveEnrollmentPayload promote at most one. */
const SINGLE_PROMOTED_PAYLOADS = ['DropEnrollmentPayload', 'MoveEnrollmentPayload'];

export const enrollment: SubgraphDefinition<EnrollmentEnv, Context, SubgraphRuntime> = {
  name: 'enrollment',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, _deps, runtime) => createContext(base, runtime),
  close: (_deps, runtime) => runtime.close(),
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>(
    { DateTime },
    offeringResolvers,
    enrollmentResolvers,
    rosterResolvers,
    Object.fromEntries(PAYLOADS.map((name) => [name, payloadResolvers])),
    Object.fromEntries(SINGLE_PROMOTED_PAYLOADS.map((name) => [name, singlePromotedPayloadResolvers])),
  );
}
