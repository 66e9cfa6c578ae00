import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { sendJson, type Route } from '@lectern/kernel/http';
import { z } from 'zod';
import { mergeResolvers, type SubgraphDefinition } from '@lectern/kernel/subgraph';
import type { IdentityEnv } from './env.ts';
import { createContext, type Context } from './context.ts';
import { migrations } from './migrations/index.ts';
import { createSubgraphRuntime, type SubgraphRuntime } from './runtime.ts';
import {
  API_KEY_VERIFY_PATH, CONTACTS_PATH, GATEWAY_POLICY_PATH, gatewayPolicyRequest, INVITATION_DELIVERY_PATH, JWKS_PATH, MEMBERS_PATH, ORGANIZATION_PROFILE_PATH, RESOLVE_MEMBERS_PATH, SESSION_STATUS_PATH, resolveMembersRequest,
  contactsRequest, invitationDeliveryRequest, membersRequest, organizationProfileRequest, sessionStatusRequest,
} from '@lectern/contracts/identity';
import { AuthService } from './modules/auth/auth.service.ts';
import { internalRoute } from '@lectern/kernel/internal';
import { InternalService } from './modules/internal/internal.service.ts';
import { ApiKeyService } from './modules/api-key/api-key.service.ts';
import { OrganizationSchema } from './modules/organization/organization.entity.ts';
import { UserSchema } from './modules/user/user.entity.ts';
import { InvitationSchema, MembershipSchema } from './modules/membership/membership.entity.ts';
import { RefreshTokenSchema } from './modules/auth/refresh-token.entity.ts';
import { ApiKeySchema } from './modules/api-key/api-key.entity.ts';
import { apiKeyResolvers } from './modules/api-key/api-key.resolvers.ts';
import { authResolvers } from './modules/auth/auth.resolvers.ts';
import { membershipResolvers } from './modules/membership/membership.resolvers.ts';
import { organizationResolvers } from './modules/organization/organization.resolvers.ts';
import { userResolvers } from './modules/user/user.resolvers.ts';
import { DateTime } from '@lectern/kernel/scalars';
import type { Resolvers } from './__generated__/resolvers.ts';

export const typeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
export const entities = [OrganizationSchema, UserSchema, MembershipSchema, InvitationSchema, RefreshTokenSchema, ApiKeySchema];

export const identity: SubgraphDefinition<IdentityEnv, Context, SubgraphRuntime> = {
  name: 'identity',
  typeDefs,
  resolvers: resolvers(),
  entities,
  migrations,
  runtime: createSubgraphRuntime,
  context: (base, _deps, runtime) => createContext(base, runtime),
  routes(deps, runtime) {
    const verifier = deps.serviceVerifier();
    const jwks: Route = (req, res, url) => {
      if (url.pathname !== JWKS_PATH || req.method !== 'GET') return false;
      sendJson(res, 200, runtime.tokens.jwks(), { 'cache-control': 'public, max-age=300' });
      return true;
    };
    const internal = new InternalService(deps.orm);
    return [
      jwks,
      // Only the gateway may ask whether an API key is valid.
      internalRoute(API_KEY_VERIFY_PATH, verifier, z.object({ key: z.string().max(512) }), (b) => ApiKeyService.verify(deps.orm, b.key), ['gateway']),
      // Each endpoint answers the services that need it, and no other.
      internalRoute(CONTACTS_PATH, verifier, contactsRequest, (b) => internal.contacts(b.tenantId, b.userIds), ['notifications', 'certification']),
      internalRoute(ORGANIZATION_PROFILE_PATH, verifier, organizationProfileRequest, (b) => internal.organization(b.tenantId), ['certification']),
      internalRoute(MEMBERS_PATH, verifier, membersRequest, (b) => internal.members(b.tenantId), ['notifications']),
      internalRoute(RESOLVE_MEMBERS_PATH, verifier, resolveMembersRequest, (b) => internal.resolveMembers(b.tenantId, b.emails, b.userIds), ['catalog', 'enrollment']),
      internalRoute(INVITATION_DELIVERY_PATH, verifier, invitationDeliveryRequest, (b) => internal.invitationDelivery(b.tenantId, b.invitationId), ['notifications']),
      internalRoute(GATEWAY_POLICY_PATH, verifier, gatewayPolicyRequest, (b) => internal.gatewayPolicy(b.tenantId), ['gateway']),
      // Only the gateway asks which sessions ended (it refuses their access tokens).
      internalRoute(SESSION_STATUS_PATH, verifier, sessionStatusRequest, (b) => AuthService.endedSessions(deps.orm, b.sessionIds), ['gateway']),
    ];
  },
};

/** Typed by codegen from schema.graphql: a resolver that drifts from the SDL fails typecheck. */
function resolvers(): Resolvers {
  return mergeResolvers<Resolvers>({ DateTime }, userResolvers, organizationResolvers, membershipResolvers, apiKeyResolvers, authResolvers);
}
