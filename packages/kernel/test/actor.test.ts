// The actor context: a standard EdDSA JWT, reused for the same actor for half its lifetime,
// remembered by the verifier until it expires, and refused when forged, altered or stale.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { importJWK, jwtVerify } from 'jose';
import { ACTOR_TTL_SECONDS, ActorSigner, ActorVerifier, type Actor } from '../src/actor.ts';
import { DEV_ACTOR_PRIVATE_KEY, DEV_ACTOR_PUBLIC_KEY } from '../src/dev-keys.ts';

const actor = (over: Partial<Actor> = {}): Actor => ({
  kind: 'user',
  userId: randomUUID(),
  tenantId: randomUUID(),
  roles: ['LEARNER'],
  superAdmin: false,
  scopes: [],
  apiKeyId: null,
  ip: '10.0.0.1',
  requestId: randomUUID(),
  ...over,
});

afterEach(() => vi.useRealTimers());

describe('actor context', () => {
  it('is a JWT any JOSE library verifies, without the request id', async () => {
    const signer = await ActorSigner.fromJwk(DEV_ACTOR_PRIVATE_KEY);
    const a = actor();
    const token = await signer.sign(a);
    const key = await importJWK({ ...JSON.parse(DEV_ACTOR_PUBLIC_KEY), alg: 'EdDSA' }, 'EdDSA');
    const { payload } = await jwtVerify(token, key, { issuer: 'lectern-gateway', audience: 'lectern-subgraph' });
    expect(payload.act).toEqual({ ...a, requestId: null });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(ACTOR_TTL_SECONDS);
  });

  it('is reused for the same actor for half its lifetime, and new for anyone else', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z'), toFake: ['Date'] });
    const signer = await ActorSigner.fromJwk(DEV_ACTOR_PRIVATE_KEY);
    const a = actor();
    const first = await signer.sign(a);
    expect(await signer.sign({ ...a, requestId: randomUUID() })).toBe(first);
    expect(await signer.sign({ ...a, ip: '10.0.0.2' })).not.toBe(first);
    expect(await signer.sign({ ...a, roles: ['ORG_ADMIN'] })).not.toBe(first);
    vi.setSystemTime(new Date(Date.now() + (ACTOR_TTL_SECONDS / 2) * 1000));
    expect(await signer.sign(a)).not.toBe(first);
  });

  it('is remembered once verified, until it expires, and never for a forged or altered one', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z'), toFake: ['Date'] });
    const signer = await ActorSigner.fromJwk(DEV_ACTOR_PRIVATE_KEY);
    const verifier = await ActorVerifier.fromJwk(DEV_ACTOR_PUBLIC_KEY);
    const a = actor();
    const token = await signer.sign(a);
    expect(await verifier.verify(token)).toEqual({ ...a, requestId: null });
    expect(await verifier.verify(token)).toEqual({ ...a, requestId: null });
    const [h, p, s] = token.split('.') as [string, string, string];
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), act: { ...a, roles: ['ORG_ADMIN'] } })).toString('base64url');
    expect(await verifier.verify(`${h}.${altered}.${s}`)).toBeNull();
    const otherKey = await ActorSigner.fromJwk(JSON.stringify({ ...JSON.parse(DEV_ACTOR_PRIVATE_KEY), ...(await freshKey()) }));
    expect(await verifier.verify(await otherKey.sign(a))).toBeNull();
    vi.setSystemTime(new Date(Date.now() + (ACTOR_TTL_SECONDS + 1) * 1000));
    expect(await verifier.verify(token)).toBeNull();
  });
});

async function freshKey() {
  const { generateKeyPairSync } = await import('node:crypto');
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return { x: jwk.x, d: jwk.d };
}
