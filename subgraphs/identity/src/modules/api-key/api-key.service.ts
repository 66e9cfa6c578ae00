// API keys for integrators: a hash is stored, the secret is shown once; revocable; scoped.
import { randomUUID } from 'node:crypto';
import { authorize, badInput, decodeCursor, idempotentWrite, inTenant, notFound, pageSize, toConnection, type Actor, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ServiceRuntime } from '../../runtime.ts';
import { API_KEY_PREFIX, API_KEY_SCOPES, type ApiKeyVerification } from '@lectern/contracts/identity';
import { hashSecret, mintOpaque, parseOpaque, sameHash } from '../auth/secrets.ts';
import { ApiKey } from './api-key.entity.ts';

type ScopeName = keyof typeof API_KEY_SCOPES;

export class ApiKeyService {
  #rt: ServiceRuntime;
  constructor(rt: ServiceRuntime) {
    this.#rt = rt;
  }

  async list(uow: UnitOfWork, actor: Actor, args: PageArgs) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    const limit = pageSize(args);
    const after = decodeCursor(args.after, 2) as [string, string] | null;
    const em = await uow.em();
    const where = after ? { $or: [{ createdAt: { $lt: new Date(after[0]) } }, { createdAt: new Date(after[0]), id: { $lt: after[1] } }] } : {};
    const rows = await em.find(ApiKey, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    return toConnection(rows, limit, (k) => [k.createdAt.toISOString(), k.id], after !== null);
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
        if (await em.findOne(ApiKey, { name })) throw badInput('An API key with this name exists', 'name');
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
        return { apiKeyId: id, secret: secret.token };
      },
      { protect: this.#rt.sealer },
    );
  }

  async revoke(uow: UnitOfWork, actor: Actor, input: { apiKeyId: string; idempotencyKey: string }) {
    authorize(actor, { roles: ['ORG_ADMIN'] });
    return idempotentWrite(uow, actor, 'revokeApiKey', input, async (em) => {
      const key = await em.findOne(ApiKey, { id: input.apiKeyId });
      if (!key) throw notFound('API key');
      key.revokedAt ??= new Date();
      await em.flush();
      return { apiKeyId: key.id };
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
