// Service credentials (service-auth.ts, internal.ts): a service's token opens only internal
// endpoints addressed to the callee, as that service, for the tenant it was issued for.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ActorSigner } from '../src/actor.ts';
import { DEV_ACTOR_PRIVATE_KEY } from '../src/dev-keys.ts';
import { internalRoute } from '../src/internal.ts';
import { devServiceKey, publicJwk, SERVICE_HEADER, serviceCredential, serviceVerifier, ServiceCredential } from '../src/service-auth.ts';
import { createPrivateKey } from 'node:crypto';

const dev = { NODE_ENV: 'test' };

describe('service tokens', () => {
  const verifier = serviceVerifier('identity', dev);

  it('verify as the calling service, for the tenant, only at the service they are addressed to', () => {
    const tenantId = randomUUID();
    const token = serviceCredential('enrollment', dev).token('identity', tenantId);
    expect(verifier.verify(token)).toEqual({ service: 'enrollment', tenantId });
    expect(serviceVerifier('catalog', dev).verify(token)).toBeNull();
  });

  it('cannot be minted by one service in another one\'s name', () => {
    const enrollmentKey = createPrivateKey({ key: JSON.parse(devServiceKey('enrollment')) as never, format: 'jwk' });
    const impostor = new ServiceCredential('gateway', enrollmentKey);
    expect(verifier.verify(impostor.token('identity', null))).toBeNull();
  });

  it('refuses expired, tampered and user-actor tokens', async () => {
    const token = serviceCredential('notifications', dev).token('identity', null);
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, iss: 'gateway' })).toString('base64url')}.${s}`;
    expect(verifier.verify(forged)).toBeNull();
    vi.useFakeTimers({ now: Date.now() + 120_000 });
    try {
      expect(verifier.verify(token)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
    const actorToken = await (await ActorSigner.fromJwk(DEV_ACTOR_PRIVATE_KEY)).sign({
      kind: 'user', userId: randomUUID(), tenantId: randomUUID(), roles: ['ORG_ADMIN'], superAdmin: true, scopes: [], apiKeyId: null, ip: null, requestId: null,
    });
    expect(verifier.verify(actorToken)).toBeNull();
  });

  it('production needs real keys; SERVICE_VERIFY_KEYS names known services only', () => {
    expect(() => serviceCredential('learning', { NODE_ENV: 'production' })).toThrow(/SERVICE_SIGNING_KEY must be set in production/);
    expect(() => serviceVerifier('catalog', { NODE_ENV: 'production' })).toThrow(/SERVICE_VERIFY_KEYS must be set in production/);
    expect(() => serviceVerifier('catalog', { NODE_ENV: 'production', SERVICE_VERIFY_KEYS: '{"mallory":"{}"}' })).toThrow(/SERVICE_VERIFY_KEYS/);
    const keys = JSON.stringify({ learning: publicJwk(devServiceKey('learning')) });
    const only = serviceVerifier('catalog', { NODE_ENV: 'production', SERVICE_VERIFY_KEYS: keys });
    expect(only.verify(serviceCredential('learning', { NODE_ENV: 'production', SERVICE_SIGNING_KEY: devServiceKey('learning') }).token('catalog', null))).toEqual({ service: 'learning', tenantId: null });
    expect(only.verify(serviceCredential('enrollment', dev).token('catalog', null))).toBeNull();
  });
});

describe('internal routes', () => {
  let server: http.Server;
  let base: string;
  const route = internalRoute(
    '/internal/echo',
    serviceVerifier('identity', dev),
    z.strictObject({ tenantId: z.string().uuid().nullable() }),
    async (body, caller) => ({ body, caller }),
    ['gateway', 'enrollment'],
  );
  const log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      void route(req, res, new URL(req.url ?? '/', 'http://x'), { log } as never);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const post = async (headers: Record<string, string>, body: unknown) => {
    const res = await fetch(`${base}/internal/echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as unknown };
  };

  it('answers a listed caller for its own tenant only', async () => {
    const tenantId = randomUUID();
    const token = serviceCredential('enrollment', dev).token('identity', tenantId);
    expect(await post({ [SERVICE_HEADER]: token }, { tenantId })).toEqual({ status: 200, body: { body: { tenantId }, caller: { service: 'enrollment', tenantId } } });
    expect((await post({ [SERVICE_HEADER]: token }, { tenantId: randomUUID() })).status).toBe(403);
  });

  it('refuses services it does not list, and user actors', async () => {
    expect((await post({ [SERVICE_HEADER]: serviceCredential('notifications', dev).token('identity', null) }, { tenantId: null })).status).toBe(401);
    const actorToken = await (await ActorSigner.fromJwk(DEV_ACTOR_PRIVATE_KEY)).sign({
      kind: 'user', userId: null, tenantId: null, roles: [], superAdmin: true, scopes: [], apiKeyId: null, ip: null, requestId: null,
    });
    expect((await post({ 'x-lectern-actor': actorToken }, { tenantId: null })).status).toBe(401);
    expect((await post({ [SERVICE_HEADER]: actorToken }, { tenantId: null })).status).toBe(401);
  });
});
