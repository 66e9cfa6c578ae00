// API keys for integrators: a hash is stored, the secret is shown once; revocable; scoped.
import { randomUUID } from 'node:crypto';
import { authorize, badInput, idempotentWrite, inTenant, inputId, pageRequest, toConnection, type Actor, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ServiceRuntime } from '../../runtime.ts';
import { API_KEY_PREFIX, API_KEY_SCOPES, type ApiKeyVerification } from '@lectern/contracts/identity';
import { hashSecret, mintOpaque, parseOpaque, sameHash } from '../auth/secrets.ts';
import { identityError, type IdentityError } from '../../errors.ts';
import { ApiKey } from './api-key.entity.ts';

type ScopeName = keyof typeof API_KEY_SCOPES;

export class ApiKeyService {
  #rt: ServiceRuntime;
  constructor(rt: ServiceRuntime) {
    this.#rt = rt;
  }

  /** Newest first; `filter.revoked` keeps only revoked (true) or working (false) keys. */
  async list(uow: UnitOfWork, actor: Actor, args: PageArgs & { filter?: { revoked?: boolean | null } | null }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const page = pageRequest(args, 2);
    const filter: Record<string, unknown> = {};
    if (args.filter?.revoked != null) filter.revokedAt = args.filter.revoked ? { $ne: null } : null;
    const where: Record<string, unknown> = { ...filter };
    // The list is newest first; a backward page reads oldest first, then toConnection reverses it.
    const op = page.backward ? '$gt' : '$lt';
    if (page.cursor) {
      const at = new Date(String(page.cursor[0]));
      where.$or = [{ createdAt: { [op]: at } }, { createdAt: at, id: { [op]: String(page.cursor[1]) } }];
    }
    const em = await uow.em();
    const dir = page.backward ? 'asc' : 'desc';
    const rows = await em.find(ApiKey, where, { orderBy: { createdAt: dir, id: dir }, limit: page.limit + 1 });
    return toConnection(rows, page, (k) => [k.createdAt.toISOString(), k.id], async () => (await uow.em()).count(ApiKey, filter));
  }

  async create(uow: UnitOfWork, actor: Actor, input: { name: string; scopes: ScopeName[]; expiresInDays?: number | null; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const name = input.name.trim();
    if (!name || name.length > 100) throw badInput('name must be 1-100 characters', 'name');
    if (input.scopes.length === 0) throw badInput('scopes must name at least one scope', 'scopes');
    if (input.expiresInDays != null && (input.expiresInDays < 1 || input.expiresInDays > 3650)) throw badInput('expiresInDays must be 1-3650', 'expiresInDays');
    return idempotentWrite(
      uow,
      actor,
      'createApiKey',
      input,
      async (em) => {
        if (await em.findOne(ApiKey, { name })) {
          return { apiKeyId: null, secret: null, errors: [identityError('NAME_TAKEN', 'An API key with this name exists', 'name')] };
        }
        const id = randomUUID();
        const secret = mintOpaque(API_KEY_PREFIX, actor.tenantId, id);
        em.create(ApiKey, {
          id,
          tenantId: actor.tenantId,
          name,
          prefix: secret.token.slice(0, 12),
          secretHash: secret.hash,
          scopes: [...new Set(input.scopes.map((s) => API_KEY_SCOPES[s]))],
          createdBy: actor.userId,
          lastUsedAt: null,
          revokedAt: null,
          expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
        });
        await em.flush();
        return { apiKeyId: id as string | null, secret: secret.token as string | null, errors: [] as IdentityError[] };
      },
      { protect: this.#rt.sealer },
    );
  }

  async revoke(uow: UnitOfWork, actor: Actor, input: { apiKeyId: string; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const apiKeyId = inputId(input.apiKeyId, 'ApiKey', 'apiKeyId');
    return idempotentWrite(uow, actor, 'revokeApiKey', { ...input, apiKeyId }, async (em) => {
      const key = await em.findOne(ApiKey, { id: apiKeyId });
      if (!key) return { apiKeyId: null, errors: [identityError('NOT_FOUND', 'No such API key in this organization', 'apiKeyId')] };
      key.revokedAt ??= new Date();
      await em.flush();
      return { apiKeyId: key.id as string | null, errors: [] as IdentityError[] };
    });
  }

  /** Called by the gateway for each request bearing an API key. */
  static async verify(orm: MikroORM, key: string): Promise<ApiKeyVerification> {
    const parts = parseOpaque(API_KEY_PREFIX, key);
    if (!parts) return { valid: false };
    return inTenant(orm, parts.tenantId, async (uow) => {
      const em = await uow.em();
      const row = await em.findOne(ApiKey, { id: parts.id });
      if (!row || row.revokedAt || (row.expiresAt && row.expiresAt < new Date()) || !sameHash(row.secretHash, hashSecret(key))) return { valid: false as const };
      if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) row.lastUsedAt = new Date();
      await em.flush();
      return { valid: true as const, tenantId: row.tenantId, apiKeyId: row.id, scopes: row.scopes };
    });
  }
}

export const scopeNames = (scopes: string[]): ScopeName[] =>
  (Object.keys(API_KEY_SCOPES) as ScopeName[]).filter((name) => scopes.includes(API_KEY_SCOPES[name]));
