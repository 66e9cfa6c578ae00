// What the gateway enforces per organization, as identity keeps it: whether the organization's
// people may send only trusted documents (trusted-documents.ts). Asked of identity
// (GATEWAY_POLICY_PATH) once per organization per ORGANIZATION_POLICY_SECONDS, one call in
// flight per organization however many requests wait on it. When identity does not answer, the
// last answer stands; an organization never asked answers SERVICE_UNAVAILABLE (the request is
// not let through on a guess), as an unchecked session does (auth.ts).
import { GraphQLError } from 'graphql';
import { GATEWAY_POLICY_PATH, gatewayPolicyResponse } from '@lectern/contracts/identity';
import type { ServiceCredential } from '@lectern/kernel/service-auth';
import { ServiceCallError, serviceClient, type ServiceClient } from '@lectern/kernel/service-client';

interface Policy {
  requireTrustedDocuments: boolean;
}

export class OrganizationPolicies {
  readonly #identity: ServiceClient;
  readonly #ttlMs: number;
  readonly #known = new Map<string, { policy: Policy; at: number }>();
  readonly #asking = new Map<string, Promise<Policy>>();

  constructor(opts: { identityUrl: string; credential: ServiceCredential; ttlSeconds: number }) {
    this.#identity = serviceClient({ baseUrl: opts.identityUrl, audience: 'identity', credential: opts.credential, timeoutMs: 2000 });
    this.#ttlMs = opts.ttlSeconds * 1000;
  }

  async of(tenantId: string): Promise<Policy> {
    const known = this.#known.get(tenantId);
    if (known && Date.now() - known.at < this.#ttlMs) return known.policy;
    let asking = this.#asking.get(tenantId);
    if (!asking) {
      asking = this.#ask(tenantId).finally(() => this.#asking.delete(tenantId));
      this.#asking.set(tenantId, asking);
    }
    try {
      return await asking;
    } catch (err) {
      if (known) return known.policy;
      throw new GraphQLError(`Your organization's settings could not be checked (${(err as Error).message}); retry in a few seconds`, {
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 },
      });
    }
  }

  async #ask(tenantId: string): Promise<Policy> {
    let policy: Policy;
    try {
      policy = await this.#identity(GATEWAY_POLICY_PATH, { tenantId }, gatewayPolicyResponse, tenantId);
    } catch (err) {
      // An organization identity does not know has nothing to enforce.
      if (err instanceof ServiceCallError && err.status === 404) policy = { requireTrustedDocuments: false };
      else throw err;
    }
    if (this.#known.size >= 100_000) this.#known.clear();
    this.#known.set(tenantId, { policy, at: Date.now() });
    return policy;
  }
}
