import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { actor, adminPool, createTestDatabase, gql, idem, serviceHeaders, type TestDatabase } from '@lectern/testkit';
import { globalId, idOf } from '@lectern/kernel';
import type { ServiceName } from '@lectern/kernel/service-auth';
import { tenantTablesWithoutRls } from '@lectern/kernel/db';
import { loadEnv, migrations, startIdentity } from '../src/server.ts';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '../src/testing/index.ts';

let db: TestDatabase;
let running: Awaited<ReturnType<typeof startIdentity>>;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase({ identity: migrations }, 'identity');
  running = await startIdentity(loadEnv({ ...db.env, LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' }));
  url = running.url;
  A = await seedOrganizationWithPeople(running.deps.orm, 'org-a');
  B = await seedOrganizationWithPeople(running.deps.orm, 'org-b');
});
afterAll(async () => {
  await running?.close();
  await db?.drop();
});

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken roles user { id email } organization { slug } retryAfterSeconds errors { code message path } } }`;
const loginCode = (r: { data?: { login?: { errors?: { code: string }[] } } | null }) => r.data?.login?.errors?.[0]?.code;
/** The token of the invitation email (identity's delivery endpoint, as the notifications worker calls it). */
async function emailedToken(tenantId: string, invitationGlobalId: string): Promise<string> {
  const res = await fetch(new URL('/internal/invitations/delivery', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...serviceHeaders('notifications', 'identity', tenantId) },
    body: JSON.stringify({ tenantId, invitationId: idOf(invitationGlobalId, 'Invitation') }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}
const anon = () => actor({ kind: 'anonymous', userId: null, ip: `10.0.0.${Math.floor(Math.random() * 250)}` });
const member = (org: typeof A, who: keyof Omit<typeof A, 'org'>) => actor({ userId: A && org[who].id, tenantId: org.org.id, roles: org[who].roles });

describe('identity subgraph', () => {
  it('refuses requests without a valid gateway actor context, _service and _entities included', async () => {
    for (const query of ['{ me { roles } }', '{ _service { sdl } }', '{ _entities(representations: [{__typename: "User", id: "x"}]) { __typename } }']) {
      const missing = await gql(url, query);
      expect(missing.status).toBe(401);
      expect(missing.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const forged = await gql(url, query, {}, { headers: { 'x-lectern-actor': 'eyJhbGciOiJub25lIn0.eyJhY3QiOnt9fQ.', 'x-tenant-id': A.org.id } });
      expect(forged.status).toBe(401);
    }
  });

  it('signs in with argon2id-hashed passwords and issues an EdDSA access token for the organization', async () => {
    const r = await gql(url, LOGIN, { input: { email: A.admin.email.toUpperCase(), password: TEST_PASSWORD, organizationSlug: 'org-a', idempotencyKey: idem() } }, { actor: anon() });
    expect(r.errors).toBeUndefined();
    const claims = decodeJwt(r.data!.login.accessToken);
    expect(claims).toMatchObject({ sub: A.admin.id, tid: A.org.id, roles: ['ORG_ADMIN'], iss: 'lectern-identity' });
    expect(r.data!.login.user.id).toBe(globalId('User', A.admin.id));
    expect(r.data!.login.errors).toEqual([]);
    expect(r.data!.login.organization.slug).toBe('org-a');
    const jwks = await (await fetch(new URL('/.well-known/jwks.json', url))).json();
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('gives the same answer for a wrong password, an unknown user and a foreign organization', async () => {
    const attempts = [
      { email: A.learner.email, password: 'wrong-password-123', organizationSlug: 'org-a' },
      { email: 'nobody@nowhere.example', password: TEST_PASSWORD, organizationSlug: 'org-a' },
      { email: A.learner.email, password: TEST_PASSWORD, organizationSlug: 'org-b' },
    ];
    for (const a of attempts) {
      const r = await gql(url, LOGIN, { input: { ...a, idempotencyKey: idem() } }, { actor: anon() });
      expect(r.errors).toBeUndefined();
      expect(r.data!.login).toMatchObject({ accessToken: null, refreshToken: null, user: null, errors: [{ code: 'INVALID_CREDENTIALS', message: 'Invalid email, password or organization', path: null }] });
    }
  });

  it('throttles repeated failures per account', async () => {
    const input = { email: B.learner2.email, password: 'wrong-password-123', organizationSlug: 'org-b' };
    const codes: unknown[] = [];
    for (let i = 0; i < 5; i++) codes.push(loginCode(await gql(url, LOGIN, { input: { ...input, idempotencyKey: idem() } }, { actor: anon() })));
    expect(codes.slice(0, 3)).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS']);
    expect(codes.slice(3)).toEqual(['THROTTLED', 'THROTTLED']);
    // even the right password is refused while locked, with when to retry
    const ok = await gql(url, LOGIN, { input: { ...input, password: TEST_PASSWORD, idempotencyKey: idem() } }, { actor: anon() });
    expect(loginCode(ok)).toBe('THROTTLED');
    expect(ok.data!.login.accessToken).toBeNull();
    expect(ok.data!.login.retryAfterSeconds).toBeGreaterThan(0);
    expect(ok.data!.login.errors[0].message).toMatch(/try again in \d+ seconds/);
  });

  it('rotates refresh tokens and revokes the session when a used one is replayed', async () => {
    const login = await gql(url, LOGIN, { input: { email: A.instructor.email, password: TEST_PASSWORD, organizationSlug: 'org-a', idempotencyKey: idem() } }, { actor: anon() });
    const first = login.data!.login.refreshToken as string;
    const REFRESH = `mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { refreshToken accessToken errors { code path } } }`;
    const key = idem();
    const r1 = await gql(url, REFRESH, { input: { refreshToken: first, idempotencyKey: key } }, { actor: anon() });
    expect(r1.errors).toBeUndefined();
    expect(r1.data!.refreshSession.errors).toEqual([]);
    // a retry of the same request (same key) gets the same answer, not a reuse alarm
    const retry = await gql(url, REFRESH, { input: { refreshToken: first, idempotencyKey: key } }, { actor: anon() });
    expect(retry.data!.refreshSession.refreshToken).toBe(r1.data!.refreshSession.refreshToken);
    const second = r1.data!.refreshSession.refreshToken as string;
    // replaying the used token with a new key is theft: the whole family is revoked
    const reuse = await gql(url, REFRESH, { input: { refreshToken: first, idempotencyKey: idem() } }, { actor: anon() });
    expect(reuse.data!.refreshSession).toEqual({ refreshToken: null, accessToken: null, errors: [{ code: 'SESSION_REUSED', path: ['input', 'refreshToken'] }] });
    const afterReuse = await gql(url, REFRESH, { input: { refreshToken: second, idempotencyKey: idem() } }, { actor: anon() });
    expect(afterReuse.data!.refreshSession.errors).toEqual([{ code: 'SESSION_INVALID', path: ['input', 'refreshToken'] }]);
  });

  it('keeps organization B from seeing A’s members by list, by id or via _entities', async () => {
    const bAdmin = member(B, 'admin');
    const list = await gql(url, `{ members(first: 100) { nodes { id user { id email } } } }`, {}, { actor: bAdmin });
    const ids = list.data!.members.nodes.map((n: { user: { id: string } }) => n.user.id);
    expect(ids).toHaveLength(4);
    expect(ids).toContain(globalId('User', B.learner.id));
    expect(ids).not.toContain(globalId('User', A.learner.id));
    const byId = await gql(url, `query($id: ID!) { user(id: $id) { id } }`, { id: globalId('User', A.learner.id) }, { actor: bAdmin });
    const missing = await gql(url, `query($id: ID!) { user(id: $id) { id } }`, { id: globalId('User', '00000000-0000-4000-8000-000000000000') }, { actor: bAdmin });
    expect(byId.body).toBe(missing.body);
    const entities = await gql(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName } ... on Organization { id slug } } }`,
      { r: [{ __typename: 'User', id: globalId('User', A.learner.id) }, { __typename: 'Organization', id: globalId('Organization', A.org.id) }, { __typename: 'User', id: globalId('User', B.learner.id) }] }, { actor: bAdmin });
    expect(entities.data!._entities).toEqual([null, null, { id: globalId('User', B.learner.id), displayName: 'Lena Learner' }]);
  });

  it('lets only ORG_ADMIN change roles, never removing the last admin', async () => {
    const CHANGE = `mutation($input: ChangeMemberRolesInput!) { changeMemberRoles(input: $input) { membership { roles } errors { code } } }`;
    const learnerMembership = await gql(url, `query($id: ID!) { user(id: $id) { membership { id } } }`, { id: globalId('User', A.learner2.id) }, { actor: member(A, 'admin') });
    const membershipId = learnerMembership.data!.user.membership.id;
    const denied = await gql(url, CHANGE, { input: { membershipId, roles: ['INSTRUCTOR'], idempotencyKey: idem() } }, { actor: member(A, 'instructor') });
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ok = await gql(url, CHANGE, { input: { membershipId, roles: ['INSTRUCTOR', 'LEARNER'], idempotencyKey: idem() } }, { actor: member(A, 'admin') });
    expect(ok.data!.changeMemberRoles).toEqual({ membership: { roles: ['INSTRUCTOR', 'LEARNER'] }, errors: [] });
    const adminMembership = await gql(url, `{ me { user { membership { id } } } }`, {}, { actor: member(A, 'admin') });
    const last = await gql(url, CHANGE, { input: { membershipId: adminMembership.data!.me.user.membership.id, roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: member(A, 'admin') });
    expect(last.data!.changeMemberRoles.errors).toEqual([{ code: 'LAST_ADMIN' }]);
    // another organization's membership id looks missing
    const foreign = await gql(url, CHANGE, { input: { membershipId, roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: member(B, 'admin') });
    expect(foreign.data!.changeMemberRoles).toEqual({ membership: null, errors: [{ code: 'NOT_FOUND' }] });
    // an id of another type is bad input naming the field
    const wrongType = await gql(url, CHANGE, { input: { membershipId: globalId('User', A.learner2.id), roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: member(A, 'admin') });
    expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'membershipId' });
  });

  it('makes mutations idempotent: same input replays, different input is refused, concurrent duplicates conflict', async () => {
    const INVITE = `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { id email status } errors { code } } }`;
    const admin = member(A, 'admin');
    const key = idem();
    const input = { email: 'new.person@org-a.example', roles: ['LEARNER'], idempotencyKey: key };
    const [c1, c2] = await Promise.all([gql(url, INVITE, { input }, { actor: admin }), gql(url, INVITE, { input }, { actor: admin })]);
    const outcomes = [c1, c2].map((r) => (r.errors ? r.errors[0]!.extensions!.code : 'OK')).sort();
    expect(outcomes[0] === 'CONFLICT' || outcomes.every((o) => o === 'OK')).toBe(true);
    const replay = await gql(url, INVITE, { input }, { actor: admin });
    const firstOk = [c1, c2].find((r) => !r.errors)!;
    expect(replay.data).toEqual(firstOk.data);
    const different = await gql(url, INVITE, { input: { ...input, roles: ['INSTRUCTOR'] } }, { actor: admin });
    expect(different.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
    // the invitation works once
    const ACCEPT = `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { roles user { email } errors { code } } }`;
    const token = await emailedToken(A.org.id, replay.data!.inviteMember.invitation.id);
    const accepted = await gql(url, ACCEPT, { input: { token, password: 'a-long-enough-password', idempotencyKey: idem() } }, { actor: anon() });
    expect(accepted.data!.acceptInvitation).toEqual({ roles: ['LEARNER'], user: { email: 'new.person@org-a.example' }, errors: [] });
    const again = await gql(url, ACCEPT, { input: { token, password: 'a-long-enough-password', idempotencyKey: idem() } }, { actor: anon() });
    expect(again.data!.acceptInvitation.errors).toEqual([{ code: 'INVITATION_INVALID' }]);
  });

  it('issues scoped API keys shown once, stored hashed, revocable', async () => {
    const admin = member(A, 'admin');
    const created = await gql(url, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id scopes prefix } } }`,
      { input: { name: 'LRS sync', scopes: ['CATALOG_READ'], idempotencyKey: idem() } }, { actor: admin });
    const { secret, apiKey } = created.data!.createApiKey;
    expect(apiKey.scopes).toEqual(['CATALOG_READ']);
    const pool = adminPool(db, 1);
    const stored = await pool.query('select secret_hash from identity.api_keys where id = $1', [idOf(apiKey.id, 'ApiKey')]);
    expect(stored.rows[0].secret_hash).not.toContain(secret.slice(-43)); // the secret's random part
    const verify = async () => {
      const res = await fetch(new URL('/internal/api-keys/verify', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...serviceHeaders('gateway', 'identity', null) },
        body: JSON.stringify({ key: secret }),
      });
      return res.json();
    };
    expect(await verify()).toMatchObject({ valid: true, tenantId: A.org.id, apiKeyId: idOf(apiKey.id, 'ApiKey'), scopes: ['catalog:read'] });
    const revoked = await gql(url, `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } errors { code } } }`, { input: { apiKeyId: apiKey.id, idempotencyKey: idem() } }, { actor: admin });
    expect(revoked.data!.revokeApiKey).toMatchObject({ apiKey: { id: apiKey.id }, errors: [] });
    expect(await verify()).toEqual({ valid: false });
    // without the gateway's service context the endpoint says nothing
    const direct = await fetch(new URL('/internal/api-keys/verify', url), { method: 'POST', body: JSON.stringify({ key: secret }) });
    expect(direct.status).toBe(401);
    await pool.end();
  });

  it('puts every tenant table under forced RLS with a WITH CHECK policy', async () => {
    const client = new pg.Client({ connectionString: db.adminUrl });
    await client.connect();
    expect(await tenantTablesWithoutRls(client, 'identity')).toEqual([]);
    // the runtime role is neither superuser nor BYPASSRLS and cannot reach other schemas
    const role = await client.query(`select rolsuper, rolbypassrls from pg_roles where rolname = 'lectern_identity'`);
    expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    await client.end();
    const asIdentity = new pg.Client({ connectionString: db.url.replace('postgres://', 'postgres://lectern_identity@') });
    await asIdentity.connect();
    await expect(asIdentity.query('select * from catalog.courses')).rejects.toThrow(/permission denied/);
    await asIdentity.end();
  });
});

describe('identity: throttling per IP and idempotency of every mutation', () => {
  it('throttles sign-in attempts per client IP, whatever the account', async () => {
    const ip = anon();
    ip.ip = '192.0.2.77';
    const codes: unknown[] = [];
    // LOGIN_MAX_ATTEMPTS_PER_IP defaults to 30 in a window
    for (let i = 0; i < 32; i++) {
      const r = await gql(url, LOGIN, { input: { email: `someone${i}@nowhere.example`, password: 'wrong-password-123', organizationSlug: 'org-a', idempotencyKey: idem() } }, { actor: ip });
      codes.push(loginCode(r));
    }
    expect(codes.slice(0, 30).every((c) => c === 'INVALID_CREDENTIALS')).toBe(true);
    expect(codes.slice(30)).toEqual(['THROTTLED', 'THROTTLED']);
    // another address is unaffected
    const other = await gql(url, LOGIN, { input: { email: A.learner.email, password: TEST_PASSWORD, organizationSlug: 'org-a', idempotencyKey: idem() } }, { actor: anon() });
    expect(other.data!.login.errors).toEqual([]);
  });

  it('replays a sign-in from its idempotency key without storing the tokens in clear', async () => {
    const input = { email: A.learner.email, password: TEST_PASSWORD, organizationSlug: 'org-a', idempotencyKey: idem() };
    const first = await gql(url, LOGIN, { input }, { actor: anon() });
    const again = await gql(url, LOGIN, { input }, { actor: anon() });
    expect(again.data).toEqual(first.data);
    const pool = adminPool(db, 1);
    const { rows } = await pool.query(`select response::text as r from identity.idempotency_keys where key = $1`, [input.idempotencyKey]);
    await pool.end();
    expect(rows).toHaveLength(1);
    expect(rows[0].r).not.toContain(first.data!.login.refreshToken);
    expect(rows[0].r).not.toContain(first.data!.login.accessToken.split('.')[1]);
    // the same key with another password is refused, not answered with the stored tokens
    const wrong = await gql(url, LOGIN, { input: { ...input, password: 'another-password-1' } }, { actor: anon() });
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
    // Another person who happens to pick the same key signs in as themself (keys are per email).
    const someoneElse = await gql(url, LOGIN, { input: { ...input, email: A.instructor.email } }, { actor: anon() });
    expect(someoneElse.data!.login.errors).toEqual([]);
    expect(someoneElse.data!.login.user.email).toBe(A.instructor.email);
  });

  it('signs in without an idempotency key, a new session each time', async () => {
    const { idempotencyKey: _none, ...input } = { email: A.learner.email, password: TEST_PASSWORD, organizationSlug: 'org-a', idempotencyKey: null };
    const first = await gql(url, LOGIN, { input }, { actor: anon() });
    const second = await gql(url, LOGIN, { input }, { actor: anon() });
    expect(first.data!.login.errors).toEqual([]);
    expect(second.data!.login.errors).toEqual([]);
    expect(second.data!.login.refreshToken).not.toBe(first.data!.login.refreshToken);
  });

  const admin = () => member(A, 'admin');
  const superAdmin = () => actor({ userId: A.admin.id, tenantId: A.org.id, roles: ['ORG_ADMIN'], superAdmin: true });
  const cases: { name: string; who: () => ReturnType<typeof actor>; mutation: string; input: () => Promise<Record<string, unknown>>; vary: Record<string, unknown> }[] = [
    {
      name: 'createOrganization',
      who: superAdmin,
      mutation: `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id slug } errors { code } } }`,
      input: async () => ({ slug: `org-${Math.random().toString(36).slice(2, 8)}`, name: 'Initech' }),
      vary: { name: 'Initrode' },
    },
    {
      name: 'updateProfile',
      who: () => member(A, 'instructor'),
      mutation: `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { user { id timeZone } errors { code } } }`,
      input: async () => ({ timeZone: 'Europe/Paris' }),
      vary: { timeZone: 'Asia/Tokyo' },
    },
    {
      name: 'createApiKey',
      who: admin,
      mutation: `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`,
      input: async () => ({ name: `key ${Math.random()}`, scopes: ['MEMBERS_READ'] }),
      vary: { scopes: ['CATALOG_WRITE'] },
    },
    {
      name: 'revokeApiKey',
      who: admin,
      mutation: `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } } }`,
      input: async () => {
        const k = await gql(url, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`, { input: { name: `k ${Math.random()}`, scopes: ['CATALOG_READ'], idempotencyKey: idem() } }, { actor: admin() });
        return { apiKeyId: k.data!.createApiKey.apiKey.id };
      },
      vary: { apiKeyId: globalId('ApiKey', '00000000-0000-4000-8000-000000000001') },
    },
    {
      name: 'logout',
      who: anon,
      mutation: `mutation($input: LogoutInput!) { logout(input: $input) { ok } }`,
      input: async () => {
        const l = await gql(url, LOGIN, { input: { email: A.learner2.email, password: TEST_PASSWORD, organizationSlug: 'org-a', idempotencyKey: idem() } }, { actor: anon() });
        return { refreshToken: l.data!.login.refreshToken };
      },
      vary: { refreshToken: 'lrt_nonsense' },
    },
  ];
  for (const c of cases) {
    it(`${c.name}: same key and input replays the first result; different input is refused`, async () => {
      const who = c.who();
      const input = { ...(await c.input()), idempotencyKey: idem() };
      const first = await gql(url, c.mutation, { input }, { actor: who });
      expect(first.errors).toBeUndefined();
      const replay = await gql(url, c.mutation, { input }, { actor: who });
      expect(replay.data).toEqual(first.data);
      const different = await gql(url, c.mutation, { input: { ...input, ...c.vary } }, { actor: who });
      expect(different.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
    });
  }
});

describe('identity: events and internal endpoints', () => {
  const service = async (tenantId: string | null = null, caller: ServiceName = 'notifications') => serviceHeaders(caller, 'identity', tenantId);
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions pin the shape
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('records MemberInvited and MemberAdded in the outbox with ids only, in the same transaction as the change', async () => {
    const INVITE = `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { id } } }`;
    const r = await gql(url, INVITE, { input: { email: 'eve.events@org-a.example', roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: member(A, 'admin') });
    const invitation = { id: idOf(r.data!.inviteMember.invitation.id, 'Invitation')!, token: await emailedToken(A.org.id, r.data!.inviteMember.invitation.id) };
    const pool = adminPool(db, 1);
    const membership = { id: (await pool.query(`select membership_id from identity.invitations where id = $1`, [invitation.id])).rows[0].membership_id as string };
    const invited = await pool.query(`select type, tenant_id, aggregate_id, payload from identity.outbox where aggregate_id = $1 order by seq`, [membership.id]);
    expect(invited.rows).toEqual([{ type: 'identity.MemberInvited', tenant_id: A.org.id, aggregate_id: membership.id, payload: expect.objectContaining({ membershipId: membership.id, invitationId: invitation.id, roles: ['LEARNER'], invitedBy: A.admin.id }) }]);
    expect(JSON.stringify(invited.rows[0].payload)).not.toContain('@');
    await gql(url, `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { roles } }`, { input: { token: invitation.token, password: 'long-enough-password', idempotencyKey: idem() } }, { actor: anon() });
    const added = await pool.query(`select type, payload from identity.outbox where aggregate_id = $1 order by seq`, [membership.id]);
    expect(added.rows.map((x) => x.type)).toEqual(['identity.MemberInvited', 'identity.MemberAdded']);
    expect(added.rows[1].payload.via).toBe('INVITATION');
    // a refused change records nothing
    const before = (await pool.query(`select count(*)::int as n from identity.outbox`)).rows[0].n;
    await gql(url, INVITE, { input: { email: 'eve.events@org-a.example', roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: member(A, 'admin') });
    expect((await pool.query(`select count(*)::int as n from identity.outbox`)).rows[0].n).toBe(before);
    await pool.end();
  });

  it('answers internal requests only from service callers, and only about the organization asked for', async () => {
    expect((await post('/internal/organizations/members', { tenantId: A.org.id })).status).toBe(401);
    expect((await post('/internal/organizations/members', { tenantId: A.org.id }, { 'x-lectern-actor': await (await import('@lectern/testkit')).actorHeader(member(A, 'admin')) })).status).toBe(401);
    const members = await post('/internal/organizations/members', { tenantId: A.org.id }, await service(A.org.id));
    expect(members.body.organization.slug).toBe('org-a');
    expect(members.body.members.map((m: { userId: string }) => m.userId)).toContain(A.learner.id);
    expect(members.body.members.map((m: { userId: string }) => m.userId)).not.toContain(B.learner.id);
    const contacts = await post('/internal/users/contacts', { tenantId: A.org.id, userIds: [A.learner.id, B.learner.id] }, await service(A.org.id));
    expect(contacts.body.contacts).toEqual([{ userId: A.learner.id, email: A.learner.email, displayName: 'Lena Learner', timeZone: 'UTC', locale: null }]);
    expect((await post('/internal/users/contacts', { tenantId: 'nope' }, await service())).status).toBe(400);
    // Another organization's tenant in the body than the credential's, or a service the endpoint
    // does not serve (enrollment never needs email addresses), is refused.
    expect((await post('/internal/users/contacts', { tenantId: B.org.id, userIds: [B.learner.id] }, await service(A.org.id))).status).toBe(403);
    expect((await post('/internal/users/contacts', { tenantId: A.org.id, userIds: [A.learner.id] }, await service(A.org.id, 'enrollment'))).status).toBe(401);
    expect((await post('/internal/api-keys/verify', { key: 'lk_nothing' }, await service(null, 'notifications'))).status).toBe(401);
  });

  it('resolves active members by email (any case) and id, within the organization asked for', async () => {
    const r = await post(
      '/internal/organizations/members/resolve',
      { tenantId: A.org.id, emails: [A.learner.email.toUpperCase(), B.learner.email, 'nobody@org-a.example'], userIds: [A.instructor.id, '00000000-0000-4000-8000-000000000000'] },
      await service(A.org.id, 'enrollment'),
    );
    expect(r.status).toBe(200);
    const got = r.body.members.map((m: { userId: string; email: string; roles: string[] }) => [m.userId, m.email, m.roles]).sort();
    expect(got).toEqual([[A.learner.id, A.learner.email, ['LEARNER']], [A.instructor.id, A.instructor.email, ['INSTRUCTOR']]].sort());
    expect((await post('/internal/organizations/members/resolve', { tenantId: A.org.id, emails: [A.learner.email] })).status).toBe(401);
  });

  it('mints an emailed invitation token; only the latest one accepts', async () => {
    const r = await gql(url, `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { id } } }`, { input: { email: 'mail.me@org-a.example', roles: ['LEARNER'], idempotencyKey: idem() } }, { actor: member(A, 'admin') });
    const id = idOf(r.data!.inviteMember.invitation.id, 'Invitation');
    const first = await post('/internal/invitations/delivery', { tenantId: A.org.id, invitationId: id }, await service(A.org.id));
    expect(first.body).toMatchObject({ email: 'mail.me@org-a.example', organizationName: 'Org A' });
    const second = await post('/internal/invitations/delivery', { tenantId: A.org.id, invitationId: id }, await service(A.org.id));
    expect(second.body.token).not.toBe(first.body.token);
    expect((await post('/internal/invitations/delivery', { tenantId: B.org.id, invitationId: id }, await service(B.org.id))).status).toBe(404);
    const ACCEPT = `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { roles errors { code } } }`;
    const stale = await gql(url, ACCEPT, { input: { token: first.body.token, password: 'long-enough-password', idempotencyKey: idem() } }, { actor: anon() });
    expect(stale.data!.acceptInvitation.errors).toEqual([{ code: 'INVITATION_INVALID' }]);
    const ok = await gql(url, ACCEPT, { input: { token: second.body.token, password: 'long-enough-password', idempotencyKey: idem() } }, { actor: anon() });
    expect(ok.data!.acceptInvitation).toEqual({ roles: ['LEARNER'], errors: [] });
  });
});
