// The organization's API keys: listing, creating (the secret is shown once), revoking.
import { globalIdOf, hasRole, idOf } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { Context } from '../../context.ts';
import { ApiKey } from './api-key.entity.ts';
import { scopeNames } from './api-key.service.ts';

async function load(ctx: Context, id: string | null) {
  return id ? (await ctx.uow.em()).findOne(ApiKey, { id }) : null;
}

export const apiKeyResolvers = {
  Query: {
    apiKeys: (_p, args, ctx: Context) => ctx.services.apiKeys.list(ctx.uow, ctx.actor, args),
  },
  Mutation: {
    createApiKey: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.apiKeys.create(ctx.uow, ctx.actor, input);
      return { apiKey: await load(ctx, r.apiKeyId), secret: r.secret, errors: r.errors };
    },
    revokeApiKey: async (_p, { input }, ctx: Context) => {
      const r = await ctx.services.apiKeys.revoke(ctx.uow, ctx.actor, input);
      return { apiKey: await load(ctx, r.apiKeyId), errors: r.errors };
    },
  },
  ApiKey: {
    // ORG_ADMIN of the key's organization only.
    __resolveReference: (ref: { id: string }, ctx: Context) => (ctx.actor.tenantId && hasRole(ctx.actor, 'ORG_ADMIN') ? load(ctx, idOf(ref.id, 'ApiKey')) : null),
    id: globalIdOf('ApiKey'),
    scopes: (k) => scopeNames(k.scopes),
  },
} satisfies Resolvers;
