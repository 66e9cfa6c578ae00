import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { sendJson, readBody, type Route } from '@lectern/kernel/http';
import { ACTOR_HEADER, ActorVerifier } from '@lectern/kernel/actor';
import { DEV_ACTOR_PUBLIC_KEY, DEV_IDENTITY_PRIVATE_KEY, requireKey } from '@lectern/kernel/dev-keys';
import type { SubgraphDefinition } from '@lectern/kernel/subgraph';
import type { IdentityEnv } from './env.ts';
import { createContext, type Context } from './context.ts';
import { resolvers } from './resolvers.ts';
import { migrations } from './migrations/index.ts';
import { initRuntime, runtimeOf } from './runtime.ts';
import { API_KEY_VERIFY_PATH, JWKS_PATH } from './contract/index.ts';
import { ApiKeyService } from './modules/api-key/api-key.service.ts';
import { OrganizationSchema } from './modules/organization/organization.entity.ts';
import { UserSchema } from './modules/user/user.entity.ts';
import { InvitationSchema, MembershipSchema } from './modules/membership/membership.entity.ts';
import { RefreshTokenSchema } from './modules/auth/refresh-token.entity.ts';
import { ApiKeySchema } from './modules/api-key/api-key.entity.ts';

export const typeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
export const entities = [OrganizationSchema, UserSchema, MembershipSchema, InvitationSchema, RefreshTokenSchema, ApiKeySchema];

export const identity: SubgraphDefinition<IdentityEnv, Context> = {
  name: 'identity',
  typeDefs,
  resolvers,
  entities,
  migrations,
  context: createContext,
  async init(deps) {
    await initRuntime(deps, requireKey(deps.env.IDENTITY_JWT_PRIVATE_KEY, DEV_IDENTITY_PRIVATE_KEY, 'IDENTITY_JWT_PRIVATE_KEY', deps.env.NODE_ENV));
  },
  routes(deps) {
    const verifier = ActorVerifier.fromJwk(requireKey(deps.env.ACTOR_VERIFY_KEY, DEV_ACTOR_PUBLIC_KEY, 'ACTOR_VERIFY_KEY', deps.env.NODE_ENV));
    const jwks: Route = (req, res, url) => {
      if (url.pathname !== JWKS_PATH || req.method !== 'GET') return false;
      sendJson(res, 200, runtimeOf(deps).tokens.jwks(), { 'cache-control': 'public, max-age=300' });
      return true;
    };
    // Only the gateway (a signed `service` actor) may ask whether an API key is valid.
    const verifyApiKey: Route = async (req, res, url) => {
      if (url.pathname !== API_KEY_VERIFY_PATH) return false;
      const header = req.headers[ACTOR_HEADER];
      const actor = await (await verifier).verify(typeof header === 'string' ? header : null);
      if (req.method !== 'POST' || actor?.kind !== 'service') {
        sendJson(res, 401, { error: 'gateway only' });
        return true;
      }
      let key: unknown;
      try {
        key = (JSON.parse(await readBody(req, 4096)) as { key?: unknown }).key;
      } catch {
        key = undefined;
      }
      sendJson(res, 200, typeof key === 'string' ? await ApiKeyService.verify(deps.orm, key) : { valid: false });
      return true;
    };
    return [jwks, verifyApiKey];
  },
};
