// The organization's API keys: listing, creating (the secret is shown once), revoking.
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import { ApiKey } from './api-key.entity.ts';
import { scopeNames } from './api-key.service.ts';

export const apiKeyResolvers = {
  Query: {
    apiKeys: (_p, args, ctx: Context) => ctx.services.apiKeys.list(ctx.uow, ctx.actor, args),
  },
  Mutation: {
    createApiKey: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.apiKeys.create(ctx.uow, ctx.actor, input);
      const em = await ctx.uow.em();
      return { apiKey: await em.findOneOrFail(ApiKey, { id: r.apiKeyId }), secret: r.secret };
    },
    revokeApiKey: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.apiKeys.revoke(ctx.uow, ctx.actor, input);
      const em = await ctx.uow.em();
      return { apiKey: await em.findOneOrFail(ApiKey, { id: r.apiKeyId }) };
    },
  },
  ApiKey: {
    scopes: (k: ApiKey) => scopeNames(k.scopes),
  },
} satisfies Resolvers;
