// The operator view: queue counts and dead letters of every Lectern queue, and their replay.
import { entityRef, globalId, type PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import { deadLetterId, type DeadLetter, type DeadLetterFilter, type QueueCounts, type ReplayResult } from './operator.service.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

export const operatorResolvers = {
  Query: {
    queueHealth: (_: unknown, __: unknown, ctx: Context) => ctx.operator.view(),
  },
  Mutation: {
    replayDeadLetter: (_: unknown, { input }: { input: { id: string; idempotencyKey: string } }, ctx: Context) => ctx.operator.replay(input),
  },
  QueueHealth: {
    queues: (_: unknown, __: unknown, ctx: Context) => ctx.operator.queueCounts(),
    deadLetters: (_: unknown, args: PageArgs & { filter?: DeadLetterFilter | null }, ctx: Context) => ctx.operator.deadLetters(args),
  },
  QueueCounts: {
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.operator.queueCountsById(ref.id),
    id: (q: QueueCounts) => globalId('QueueCounts', q.queue),
  },
  DeadLetter: {
    // Operators only; null for a letter they may not see, or one that is no longer failed.
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.operator.deadLetter(ref.id),
    id: (d: DeadLetter) => deadLetterId(d.queue, d.jobId),
    organization: (d: DeadLetter) => (d.tenantId ? entityRef('Organization', d.tenantId) : null),
  },
  ReplayDeadLetterPayload: {
    deadLetter: (r: ReplayResult) => r.deadLetter,
    errors: (r: ReplayResult) => r.errors,
  },
} satisfies Resolvers;
