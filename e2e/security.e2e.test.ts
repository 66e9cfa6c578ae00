// The security review's findings, through the gateway as a browser, an Apollo Client app, an
// anonymous prober and a compromised service would meet them: CORS, schema suggestions in
// production, the alias limit against real clients, service credentials on the public graph,
// sign-out that ends the access token, and signing-key rotation without downtime.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql } from '@apollo/client';
import { DEV_ACTOR_PRIVATE_KEY } from '@lectern/kernel/dev-keys';
import { devServiceKey, SERVICE_HEADER, serviceCredential } from '@lectern/kernel/service-auth';
import { gql, idem } from '@lectern/testkit';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { loadEnv as identityEnv, startIdentity } from '@lectern/identity/server';
import { loadEnv as gatewayEnv, startGateway } from '@lectern/gateway/server';
import { startStack, type Stack } from './src/harness.ts';

const APP_ORIGIN = 'https://app.example.org';
let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken errors { code message } } }`;
async function login(email: string, url = stack.url) {
  const r = await gql(url, LOGIN, { input: { email, password: TEST_PASSWORD, organizationSlug: 'acme', idempotencyKey: idem() } });
  expect(r.errors).toBeUndefined();
  expect(r.data!.login.errors).toEqual([]);
  return r.data!.login as { accessToken: string; refreshToken: string };
}

beforeAll(async () => {
  // Sessions are checked on every request here (production trusts an answer for 5 s).
  stack = await startStack('security', { CORS_ORIGINS: APP_ORIGIN, SESSION_CHECK_SECONDS: '0' });
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme');
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('CORS', () => {
  it('answers a preflight from a configured origin, and gives other origins nothing', async () => {
    const preflight = (origin: string) =>
      fetch(stack.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    const ok = await preflight(APP_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')).toContain('authorization');
    const evil = await preflight('https://evil.example.net');
    expect(evil.status).toBe(204);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const post = await fetch(stack.url, { method: 'POST', headers: { origin: APP_ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(post.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(post.headers.get('vary')).toContain('Origin');
  });

  it('allows no origin by default in production', async () => {
    const prod = await startGateway(gatewayEnv({ ...stack.db.env, NODE_ENV: 'production', ACTOR_SIGNING_KEY: DEV_ACTOR_PRIVATE_KEY, SERVICE_SIGNING_KEY: devServiceKey('gateway'),
      IDENTITY_URL: stack.identity.url, CATALOG_URL: stack.catalog.url, ENROLLMENT_URL: stack.enrollment.url, LEARNING_URL: stack.learning.url, NOTIFICATIONS_URL: stack.notifications.url }));
    try {
      const r = await fetch(prod.url, { method: 'OPTIONS', headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' } });
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      // And no "Did you mean …?" for anyone when the schema is not public.
      const probe = await gql(prod.url, '{ cours { id } }');
      expect(probe.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(probe.body).not.toMatch(/Did you mean/);
      expect(probe.body).not.toMatch(/course/);
    } finally {
      await prod.close();
    }
    // Development keeps suggestions (the schema is public there).
    expect((await gql(stack.url, '{ cours { id } }')).body).toMatch(/Did you mean/);
  });
});

describe('real clients', () => {
  it('serves an Apollo Client dashboard query (a __typename in every selection set)', async () => {
    const { accessToken } = await login(A.admin.email);
    const client = new ApolloClient({
      link: new HttpLink({ uri: stack.url, headers: { authorization: `Bearer ${accessToken}` } }),
      cache: new InMemoryCache(),
    });
    const sets = Array.from({ length: 16 }, (_, i) => `c${i}: courses(first: 1) { nodes { id title authors { id displayName } } pageInfo { endCursor } }`).join('\n');
    const { data, error } = await client.query({ query: apolloGql(`query Dashboard { me { id kind user { id displayName } } ${sets} }`) });
    expect(error).toBeUndefined();
    expect(data).toBeTruthy();
  });
});

describe('service credentials', () => {
  it('open no public graph: a subgraph refuses them, the gateway ignores them', async () => {
    const token = serviceCredential('enrollment', { NODE_ENV: 'test' }).token('catalog', A.org.id);
    const variants: Record<string, string>[] = [{ [SERVICE_HEADER]: token }, { 'x-lectern-actor': token }];
    for (const headers of variants) {
      const direct = await fetch(stack.catalog.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ courses { totalCount } }' }) });
      expect(direct.status).toBe(401);
    }
    const viaGateway = await gql(stack.url, '{ me { id } }', {}, { headers: { [SERVICE_HEADER]: token, 'x-lectern-actor': token } });
    expect(viaGateway.data).toEqual({ me: null });
  });
});

describe('sessions', () => {
  it('signs out a signed-in user and refuses the access token from then on', async () => {
    const { accessToken, refreshToken } = await login(A.learner.email);
    expect((await gql(stack.url, '{ me { id } }', {}, { token: accessToken })).data!.me).not.toBeNull();
    const out = await gql(stack.url, `mutation($input: LogoutInput!) { logout(input: $input) { ok errors { code } } }`, { input: { refreshToken, idempotencyKey: idem() } }, { token: accessToken });
    expect(out.errors).toBeUndefined();
    expect(out.data!.logout).toEqual({ ok: true, errors: [] });
    const after = await gql(stack.url, '{ me { id } }', {}, { token: accessToken });
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const refreshed = await gql(stack.url, `mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken errors { code } } }`, { input: { refreshToken, idempotencyKey: idem() } });
    expect(refreshed.data?.refreshSession?.accessToken ?? null).toBeNull();
  });

  it('rotates identity\'s signing key without downtime: the next key is published before it signs', async () => {
    const jwk = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => JSON.stringify(k.export({ format: 'jwk' }));
    const pub = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ format: 'jwk' });
    const current = generateKeyPairSync('ed25519');
    const next = generateKeyPairSync('ed25519');
    const port = new URL(stack.identity.url).port;
    // Identity restarts on its port with the current key, publishing the next one.
    await stack.identity.close();
    stack.identity = await startIdentity(identityEnv({ ...stack.db.env, PORT: port, IDENTITY_JWT_PRIVATE_KEY: jwk(current.privateKey), IDENTITY_JWT_PUBLISHED_KEYS: JSON.stringify([pub(next.publicKey)]) }));
    // A gateway (re)started now reads the JWKS holding both keys.
    const gw = await startGateway(gatewayEnv({ ...stack.db.env, IDENTITY_URL: stack.identity.url, CATALOG_URL: stack.catalog.url, ENROLLMENT_URL: stack.enrollment.url,
      LEARNING_URL: stack.learning.url, NOTIFICATIONS_URL: stack.notifications.url, SESSION_CHECK_SECONDS: '0' }));
    try {
      const before = await login(A.instructor.email, gw.url);
      expect((await gql(gw.url, '{ me { id } }', {}, { token: before.accessToken })).status).toBe(200);
      // Identity then signs with the next key, still publishing the previous one: both tokens
      // work through the same gateway, which was not touched.
      await stack.identity.close();
      stack.identity = await startIdentity(identityEnv({ ...stack.db.env, PORT: port, IDENTITY_JWT_PRIVATE_KEY: jwk(next.privateKey), IDENTITY_JWT_PUBLISHED_KEYS: JSON.stringify([pub(current.publicKey)]) }));
      const afterRotation = await login(A.instructor.email, gw.url);
      expect(afterRotation.accessToken.split('.')[0]).not.toBe(before.accessToken.split('.')[0]); // another kid
      for (const token of [before.accessToken, afterRotation.accessToken]) {
        const me = await gql(gw.url, '{ me { user { displayName } } }', {}, { token });
        expect(me.status).toBe(200);
        expect(me.data!.me.user.displayName).toBe('Ivan Instructor');
      }
    } finally {
      await gw.close();
    }
  });
});
