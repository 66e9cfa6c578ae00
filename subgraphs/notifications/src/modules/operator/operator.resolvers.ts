import type { PageArgs } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import type { DeadLetter, ReplayResult } from './operator.service.ts';
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
    deadLetters: (_: unknown, args: PageArgs, ctx: Context) => ctx.operator.deadLetters(args),
  },
  DeadLetter: {
    organizationId: (d: DeadLetter) => d.tenantId,
  },
  ReplayDeadLetterPayload: {
    deadLetter: async (r: ReplayResult, _: unknown, ctx: Context) => {
      const letter = await ctx.operator.deadLetter(r.deadLetterId, r.tenantless);
      if (!letter) throw new Error(`replayed dead letter ${r.deadLetterId} is gone`);
      return letter;
    },
  },
} satisfies Resolvers;
