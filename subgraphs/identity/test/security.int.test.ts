// Security defects of issue 11 (invitation takeover, existence oracle and consent, sessions,
// key rotation): each test fails on the code before the fix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { gql, idem, serviceHeaders, type TestDatabase } from '@lectern/testkit';
import { globalId, idOf } from '@lectern/kernel';
import { DEV_IDENTITY_PRIVATE_KEY } from '@lectern/kernel/dev-keys';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, SESSION_STATUS_PATH, sessionStatusResponse } from '@lectern/contracts/identity';
import { loadEnv, startIdentity } from '../src/server.ts';
import { anonymousFrom, as, startHarness, type IdentityHarness, type People } from './helpers.ts';
import { accessTokenFor, TEST_PASSWORD } from '../src/testing/index.ts';

let h: IdentityHarness;
let db: TestDatabase;
let running: IdentityHarness['running'];
let A: People;
let B: People;
let url: string;

beforeAll(async () => {
  h = await startHarness('identitysec', 'sec');
  ({ db, running, url, A, B } = h);
});
afterAll(() => h?.close());

const anon = anonymousFrom('10.1.0');

const INVITE = `mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) { invitation { id email roles status expiresAt createdAt organization { slug } } errors { code message path } }
}`;
const ACCEPT = `mutation($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) { accessToken refreshToken roles user { id } organization { slug } errors { code } }
}`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken errors { code } } }`;
const login = (email: string, password: string, organizationSlug: string) =>
  gql(url, LOGIN, { input: { email, password, organizationSlug, idempotencyKey: idem() } }, { actor: anon() });

async function post(path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The emailed token, as notifications' worker fetches it. */
async function emailedToken(tenantId: string, invitationId: string): Promise<string> {
  const r = await post('/internal/invitations/delivery', { tenantId, invitationId: idOf(invitationId, 'Invitation') }, serviceHeaders('notifications', 'identity', tenantId));
  expect(r.status).toBe(200);
  return r.body.token as string;
}

async function invite(org: People, email: string, roles = ['LEARNER'], displayName?: string) {
  const r = await gql(url, INVITE, { input: { email, roles, displayName, idempotencyKey: idem() } }, { actor: as(org, 'admin') });
  expect(r.errors).toBeUndefined();
  return r;
}

describe('invitation takeover', () => {
  it('never returns the invitation secret in an API response; only the emailed token accepts', async () => {
    const r = await invite(A, 'secret.keeper@sec-a.example');
    expect(r.body).not.toMatch(/linv_/);
    // No field carries it: asking for the old `token` field is refused by validation.
    const asked = await gql(url, `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { token } } }`,
      { input: { email: 'secret.keeper2@sec-a.example', roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: as(A, 'admin') });
    expect(asked.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(asked.body).not.toMatch(/linv_/);
    // The invitee (and only they, by email) accepts and chooses their password.
    const token = await emailedToken(A.org.id, r.data!.inviteMember.invitation.id);
    const weak = await gql(url, ACCEPT, { input: { token, password: 'short', idempotencyKey: idem() } }, { actor: anon() });
    expect(weak.data!.acceptInvitation).toMatchObject({ accessToken: null, errors: [{ code: 'WEAK_PASSWORD' }] });
    const ok = await gql(url, ACCEPT, { input: { token, password: 'my-own-password-1', idempotencyKey: idem() } }, { actor: anon() });
    expect(ok.data!.acceptInvitation).toMatchObject({ roles: ['LEARNER'], organization: { slug: 'sec-a' }, errors: [] });
    expect(ok.data!.acceptInvitation.accessToken).toEqual(expect.any(String));
    expect((await login('secret.keeper@sec-a.example', 'my-own-password-1', 'sec-a')).data!.login.errors).toEqual([]);
  });

  it('links an existing account only for that account, signed in: no password set, no session for anyone else', async () => {
    // An admin of A invites a person who already has an account (in B); even holding the
    // emailed token (the strongest attacker), nobody else can take the account over.
    const r = await invite(A, B.learner.email.toUpperCase(), ['INSTRUCTOR']);
    const token = await emailedToken(A.org.id, r.data!.inviteMember.invitation.id);
    const attacker = await gql(url, ACCEPT, { input: { token, password: 'attacker-chosen-pw', idempotencyKey: idem() } }, { actor: anon() });
    expect(attacker.data!.acceptInvitation).toEqual({ accessToken: null, refreshToken: null, roles: null, user: null, organization: null, errors: [{ code: 'SIGN_IN_REQUIRED' }] });
    const someoneElse = await gql(url, ACCEPT, { input: { token, password: 'attacker-chosen-pw', idempotencyKey: idem() } }, { actor: as(A, 'admin') });
    expect(someoneElse.data!.acceptInvitation).toMatchObject({ accessToken: null, errors: [{ code: 'WRONG_ACCOUNT' }] });
    // The password is untouched: the attacker's does not sign in, the owner's still does.
    expect((await login(B.learner.email, 'attacker-chosen-pw', 'sec-b')).data!.login.errors).toEqual([{ code: 'INVALID_CREDENTIALS' }]);
    expect((await login(B.learner.email, TEST_PASSWORD, 'sec-b')).data!.login.errors).toEqual([]);
    // Not a member of A yet.
    expect((await login(B.learner.email, TEST_PASSWORD, 'sec-a')).data!.login.errors).toEqual([{ code: 'INVALID_CREDENTIALS' }]);
    // The owner, signed in (to B), accepts: linked, no new session in the answer.
    const owner = await gql(url, ACCEPT, { input: { token, password: 'ignored-password-1', idempotencyKey: idem() } }, { actor: as(B, 'learner') });
    expect(owner.data!.acceptInvitation).toEqual({
      accessToken: null, refreshToken: null, roles: ['INSTRUCTOR'], user: { id: globalId('User', B.learner.id) }, organization: { slug: 'sec-a' }, errors: [],
    });
    expect((await login(B.learner.email, TEST_PASSWORD, 'sec-a')).data!.login.errors).toEqual([]);
    expect((await login(B.learner.email, 'ignored-password-1', 'sec-b')).data!.login.errors).toEqual([{ code: 'INVALID_CREDENTIALS' }]);
  });
});

describe('existence oracle and consent', () => {
  it('has no addMember: adding a person always goes through an invitation', async () => {
    const r = await gql(url, `mutation($input: AddMemberInput!) { addMember(input: $input) { errors { code } } }`,
      { input: { email: B.admin.email, roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: as(A, 'admin') });
    expect(r.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // and B's admin did not become a member of A
    expect((await login(B.admin.email, TEST_PASSWORD, 'sec-a')).data!.login.errors).toEqual([{ code: 'INVALID_CREDENTIALS' }]);
  });

  it('answers inviteMember identically whether or not the email has an account anywhere', async () => {
    const known = await invite(A, B.admin.email, ['LEARNER'], 'Someone');
    const unknown = await invite(A, 'nobody.yet@sec-b.example', ['LEARNER'], 'Someone');
    const shape = (r: Awaited<ReturnType<typeof invite>>) => {
      const { id: _id, email: _email, expiresAt: _e, createdAt: _c, ...rest } = r.data!.inviteMember.invitation;
      return { ...r.data!.inviteMember, invitation: rest };
    };
    expect(shape(known)).toEqual(shape(unknown));
    expect(shape(known)).toEqual({ invitation: { roles: ['LEARNER'], status: 'PENDING', organization: { slug: 'sec-a' } }, errors: [] });
    expect(known.data!.inviteMember.invitation.email).toBe(B.admin.email);
    expect(unknown.data!.inviteMember.invitation.email).toBe('nobody.yet@sec-b.example');
    expect(known.body).not.toContain('Ada Admin');
    // The member list shows an invitee's invitation, never their profile (name or account).
    const list = await gql(url, `{ members(first: 100, filter: { status: INVITED }) { nodes { user { id displayName } invitation { email status } } } }`, {}, { actor: as(A, 'admin') });
    const invited = list.data!.members.nodes as { user: unknown; invitation: { email: string } }[];
    const of = (email: string) => invited.find((n) => n.invitation?.email === email);
    expect(of(B.admin.email)).toEqual({ user: null, invitation: { email: B.admin.email, status: 'PENDING' } });
    expect(of('nobody.yet@sec-b.example')).toEqual({ user: null, invitation: { email: 'nobody.yet@sec-b.example', status: 'PENDING' } });
    expect(list.body).not.toContain('Ada Admin');
    // Nor by id or as an entity: an invited user is not a visible member.
    const byRef = await gql(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName } } }`,
      { r: [{ __typename: 'User', id: globalId('User', B.admin.id) }] }, { actor: as(A, 'admin') });
    expect(byRef.data!._entities).toEqual([null]);
  });
});

describe('sessions', () => {
  it('logs out a signed-in caller (bearer token), revokes the refresh family, and reports the session ended', async () => {
    const first = await login(A.learner.email, TEST_PASSWORD, 'sec-a');
    const { accessToken, refreshToken } = first.data!.login;
    const other = await login(A.learner.email, TEST_PASSWORD, 'sec-a');
    const sid = decodeJwt(accessToken).sid as string;
    const otherSid = decodeJwt(other.data!.login.accessToken).sid as string;
    const status = async (ids: string[]) => {
      const r = await post(SESSION_STATUS_PATH, { sessionIds: ids }, serviceHeaders('gateway', 'identity', null));
      expect(r.status).toBe(200);
      return sessionStatusResponse.parse(r.body).revoked;
    };
    const never = '00000000-0000-4000-8000-00000000abcd';
    expect(await status([sid, otherSid, never])).toEqual([never]);
    // Signed in: the request's tenant is set (the case that failed with an RLS violation).
    const LOGOUT = `mutation($input: LogoutInput!) { logout(input: $input) { ok errors { code } } }`;
    const key = idem();
    const out = await gql(url, LOGOUT, { input: { refreshToken, idempotencyKey: key } }, { actor: as(A, 'learner') });
    expect(out.errors).toBeUndefined();
    expect(out.data!.logout).toEqual({ ok: true, errors: [] });
    expect((await gql(url, LOGOUT, { input: { refreshToken, idempotencyKey: key } }, { actor: as(A, 'learner') })).data!.logout.ok).toBe(true);
    const refreshed = await gql(url, `mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken errors { code } } }`,
      { input: { refreshToken, idempotencyKey: idem() } }, { actor: anon() });
    expect(refreshed.data!.refreshSession).toEqual({ accessToken: null, errors: [{ code: 'SESSION_INVALID' }] });
    expect((await status([sid, otherSid])).sort()).toEqual([sid]);
    // Gateway only, at most 100 ids.
    expect((await post(SESSION_STATUS_PATH, { sessionIds: [sid] }, serviceHeaders('notifications', 'identity', null))).status).toBe(401);
    expect((await post(SESSION_STATUS_PATH, { sessionIds: Array.from({ length: 101 }, () => never) }, serviceHeaders('gateway', 'identity', null))).status).toBe(400);
  });

  it('answers a typed SERVICE_UNAVAILABLE (with a retry hint) when Redis, which throttles sign-ins, is down', async () => {
    const cut = await startIdentity(loadEnv({ ...db.env }));
    try {
      cut.deps.redis.disconnect();
      const r = await gql(cut.url, LOGIN, { input: { email: A.learner.email, password: TEST_PASSWORD, organizationSlug: 'sec-a', idempotencyKey: idem() } }, { actor: anon() });
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: expect.any(Number) });
      expect(r.body).not.toMatch(/Internal server error/);
    } finally {
      await cut.close();
    }
  });

  it('publishes the next and the previous key with stable kids; tokens of the previous key still verify', async () => {
    const next = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const nextPrivate = await exportJWK(next.privateKey);
    const nextPublic = await exportJWK(next.publicKey);
    const previous = JSON.parse(DEV_IDENTITY_PRIVATE_KEY) as JWK;
    const { d: _d, ...previousPublic } = previous;
    // Rotation step 2: sign with the new key, keep publishing the previous one.
    const rotated = await startIdentity(loadEnv({ ...db.env, IDENTITY_JWT_PRIVATE_KEY: JSON.stringify(nextPrivate), IDENTITY_JWT_PUBLISHED_KEYS: JSON.stringify([previousPublic]) }));
    try {
      const jwks = (await (await fetch(new URL('/.well-known/jwks.json', rotated.url))).json()) as { keys: JWK[] };
      expect(jwks.keys).toHaveLength(2);
      expect(jwks.keys.every((k) => k.d === undefined && k.alg === 'EdDSA' && typeof k.kid === 'string')).toBe(true);
      // Stable kids: each key's RFC 7638 thumbprint.
      for (const k of jwks.keys) expect(k.kid).toBe(await calculateJwkThumbprint({ kty: k.kty, crv: k.crv, x: k.x }));
      expect(jwks.keys.map((k) => k.kid)).toEqual([await calculateJwkThumbprint(nextPublic), await calculateJwkThumbprint(previousPublic)]);
      const verify = (token: string) => jwtVerify(token, createLocalJWKSet(jwks), { issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE });
      // A token the previous key signed (before the rotation) still verifies, by its kid.
      const old = await accessTokenFor(running.deps.orm, A.learner, A.org);
      expect(jwks.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(old).kid);
      await expect(verify(old)).resolves.toMatchObject({ payload: { sub: A.learner.id } });
      // New sign-ins are signed by the new key, with its kid.
      const fresh = await gql(rotated.url, LOGIN, { input: { email: A.learner.email, password: TEST_PASSWORD, organizationSlug: 'sec-a', idempotencyKey: idem() } }, { actor: anon() });
      const token = fresh.data!.login.accessToken as string;
      expect(decodeProtectedHeader(token).kid).toBe(jwks.keys[0]!.kid);
      expect(decodeProtectedHeader(token).kid).not.toBe(decodeProtectedHeader(old).kid);
      await expect(verify(token)).resolves.toMatchObject({ payload: { sub: A.learner.id } });
      // Rotation step 1 (before it signs): the current identity publishes the next key too.
      const before = await startIdentity(loadEnv({ ...db.env, IDENTITY_JWT_PUBLISHED_KEYS: JSON.stringify([nextPublic]) }));
      try {
        const published = (await (await fetch(new URL('/.well-known/jwks.json', before.url))).json()) as { keys: JWK[] };
        expect(published.keys.map((k) => k.kid).sort()).toEqual(jwks.keys.map((k) => k.kid).sort());
      } finally {
        await before.close();
      }
    } finally {
      await rotated.close();
    }
  });
});
