// Process-wide pieces of the identity subgraph, built once at start (the definition's
// `runtime`): token issuer and result sealer from the signing key, and the services.
import { DEV_IDENTITY_PRIVATE_KEY, requireKey } from '@lectern/kernel/dev-keys';
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import type { IdentityEnv } from './env.ts';
import { ApiKeyService } from './modules/api-key/api-key.service.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { resultSealer } from './modules/auth/secrets.ts';
import { TokenIssuer } from './modules/auth/tokens.ts';
import { MembershipService } from './modules/membership/membership.service.ts';
import { OrganizationService } from './modules/organization/organization.service.ts';
import { UserService } from './modules/user/user.service.ts';

/** What the services need: the subgraph's dependencies and its key material. */
export interface ServiceRuntime {
  deps: SubgraphDeps<IdentityEnv>;
  tokens: TokenIssuer;
  sealer: ReturnType<typeof resultSealer>;
}

export interface Services {
  auth: AuthService;
  members: MembershipService;
  organizations: OrganizationService;
  apiKeys: ApiKeyService;
  users: UserService;
}

export interface SubgraphRuntime extends ServiceRuntime {
  services: Services;
}

export async function createSubgraphRuntime(deps: SubgraphDeps<IdentityEnv>): Promise<SubgraphRuntime> {
  const privateJwk = requireKey(deps.env.IDENTITY_JWT_PRIVATE_KEY, DEV_IDENTITY_PRIVATE_KEY, 'IDENTITY_JWT_PRIVATE_KEY', deps.env.NODE_ENV);
  const rt: ServiceRuntime = {
    deps,
    tokens: await TokenIssuer.create(privateJwk, deps.env.ACCESS_TOKEN_TTL_SECONDS, deps.env.IDENTITY_JWT_PUBLISHED_KEYS),
    sealer: resultSealer(`${privateJwk}:idempotency`),
  };
  const auth = new AuthService(rt);
  return { ...rt, services: { auth, members: new MembershipService(rt, auth), organizations: new OrganizationService(), apiKeys: new ApiKeyService(rt), users: new UserService() } };
}
