// Identity's graph: the Viewer, profile and password, API key scopes for every subgraph,
// connections, references that stop resolving, and the first SUPER_ADMIN.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { actor, adminPool, gql, idem, serviceHeaders, type TestDatabase } from '@lectern/testkit';
import { authorize, globalId, idOf, type Actor } from '@lectern/kernel';
import { API_KEY_SCOPES, contactsResponse } from '@lectern/contracts/identity';
import { createSuperAdmin } from '../src/server.ts';
import { anonymousFrom, as, startHarness, type IdentityHarness, type People } from './helpers.ts';
import { seedMember, seedOrganizationWithPeople, TEST_PASSWORD } from '../src/testing/index.ts';

let h: IdentityHarness;
let db: TestDatabase;
let running: IdentityHarness['running'];
let A: People;
let B: People;
let url: string;

beforeAll(async () => {
  h = await startHarness('identitygraph', 'gr');
  ({ db, running, url, A, B } = h);
});
afterAll(() => h?.close());

const anon = anonymousFrom('10.2.0');
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken errors { code } } }`;
const login = (email: string, password: string, organizationSlug: string) =>
  gql(url, LOGIN, { input: { email, password, organizationSlug, idempotencyKey: idem() } }, { actor: anon() });
const ME = `{ me {
  id kind roles superAdmin scopes
  user { id displayName email timeZone locale }
  organization { id slug name }
  memberships { id roles status organization { id slug name } }
  pendingInvitations { id email roles status organization { slug } }
} }`;

async function inviteAndDeliver(org: People, email: string, roles: string[]) {
  const r = await gql(url, `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { id } errors { code } } }`,
    { input: { email, roles, idempotencyKey: idem() } }, { actor: as(org, 'admin') });
  expect(r.data!.inviteMember.errors).toEqual([]);
  const id = r.data!.inviteMember.invitation.id as string;
  const res = await fetch(new URL('/internal/invitations/delivery', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...serviceHeaders('notifications', 'identity', org.org.id) },
    body: JSON.stringify({ tenantId: org.org.id, invitationId: idOf(id, 'Invitation') }),
  });
  return { id, token: ((await res.json()) as { token: string }).token };
}

describe('Viewer', () => {
  it('answers a first screen in one query: who, where, roles, the organization switcher and pending invitations', async () => {
    // B's instructor is a member of A too, and has an invitation pending from a third organization.
    const joined = await inviteAndDeliver(A, B.instructor.email, ['LEARNER']);
    const accepted = await gql(url, `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { errors { code } } }`,
      { input: { token: joined.token, idempotencyKey: idem() } }, { actor: as(B, 'instructor') });
    expect(accepted.data!.acceptInvitation.errors).toEqual([]);
    const C = await seedOrganizationWithPeople(running.deps.orm, 'gr-c');
    const pending = await inviteAndDeliver(C, B.instructor.email, ['SUPPORT_READONLY']);

    const r = await gql(url, ME, {}, { actor: as(B, 'instructor') });
    expect(r.errors).toBeUndefined();
    const me = r.data!.me;
    expect(me).toMatchObject({
      id: globalId('Viewer', B.instructor.id),
      kind: 'USER',
      roles: ['INSTRUCTOR'],
      superAdmin: false,
      scopes: [],
      user: { id: globalId('User', B.instructor.id), displayName: 'Ivan Instructor', email: B.instructor.email, timeZone: 'UTC', locale: null },
      organization: { id: globalId('Organization', B.org.id), slug: 'gr-b' },
    });
    expect(me.memberships.map((m: { organization: { slug: string }; roles: string[] }) => [m.organization.slug, m.roles])).toEqual([
      ['gr-b', ['INSTRUCTOR']],
      ['gr-a', ['LEARNER']],
    ]);
    expect(me.memberships.every((m: { id: string; status: string }) => idOf(m.id, 'Membership') && m.status === 'ACTIVE')).toBe(true);
    expect(me.pendingInvitations).toEqual([{ id: pending.id, email: B.instructor.email, roles: ['SUPPORT_READONLY'], status: 'PENDING', organization: { slug: 'gr-c' } }]);
    // Someone else sees only their own.
    const other = (await gql(url, ME, {}, { actor: as(B, 'learner') })).data!.me;
    expect(other.memberships.map((m: { organization: { slug: string } }) => m.organization.slug)).toEqual(['gr-b']);
    expect(other.pendingInvitations).toEqual([]);
    // Accepting a pending invitation by its id, signed in as its invitee (others cannot).
    const ACCEPT = `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { accessToken roles organization { slug } errors { code } } }`;
    const stranger = await gql(url, ACCEPT, { input: { invitationId: pending.id, idempotencyKey: idem() } }, { actor: as(B, 'learner') });
    expect(stranger.data!.acceptInvitation.errors).toEqual([{ code: 'INVITATION_INVALID' }]);
    const byId = await gql(url, ACCEPT, { input: { invitationId: pending.id, idempotencyKey: idem() } }, { actor: as(B, 'instructor') });
    expect(byId.data!.acceptInvitation).toEqual({ accessToken: null, roles: ['SUPPORT_READONLY'], organization: { slug: 'gr-c' }, errors: [] });
    const after = (await gql(url, ME, {}, { actor: as(B, 'instructor') })).data!.me;
    expect(after.memberships.map((m: { organization: { slug: string } }) => m.organization.slug)).toEqual(['gr-b', 'gr-a', 'gr-c']);
    expect(after.pendingInvitations).toEqual([]);
  });

  it('is an entity keyed by id: only the caller’s own Viewer resolves; API keys are viewers too', async () => {
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Viewer { id kind } } }`;
    const r = await gql(url, q, { r: [{ __typename: 'Viewer', id: globalId('Viewer', A.learner.id) }, { __typename: 'Viewer', id: globalId('Viewer', A.admin.id) }] }, { actor: as(A, 'learner') });
    expect(r.data!._entities).toEqual([{ id: globalId('Viewer', A.learner.id), kind: 'USER' }, null]);
    const apiKeyId = '00000000-0000-4000-8000-0000000000aa';
    const key = actor({ kind: 'api_key', userId: null, apiKeyId, tenantId: A.org.id, scopes: ['enrollment:read', 'members:read'] });
    const me = (await gql(url, `{ me { id kind user { id } roles scopes memberships { id } organization { slug } } }`, {}, { actor: key })).data!.me;
    expect(me).toEqual({ id: globalId('Viewer', apiKeyId), kind: 'API_KEY', user: null, roles: [], scopes: ['MEMBERS_READ', 'ENROLLMENT_READ'], memberships: [], organization: { slug: 'gr-a' } });
    expect((await gql(url, '{ me { id } }', {}, { actor: anon() })).data!.me).toBeNull();
  });
});

describe('profile and password', () => {
  it('updates display name, IANA time zone and BCP 47 locale; the contacts endpoint and the user themself see them', async () => {
    const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { user { id displayName timeZone locale } errors { code path } } }`;
    const bad = await gql(url, UPDATE, { input: { timeZone: 'Mars/Olympus', locale: 'not a tag!', idempotencyKey: idem() } }, { actor: as(A, 'learner2') });
    expect(bad.data!.updateProfile.errors).toEqual([
      { code: 'INVALID_TIME_ZONE', path: ['input', 'timeZone'] },
      { code: 'INVALID_LOCALE', path: ['input', 'locale'] },
    ]);
    const ok = await gql(url, UPDATE, { input: { displayName: ' Leo L. ', timeZone: 'europe/paris', locale: 'en-gb', idempotencyKey: idem() } }, { actor: as(A, 'learner2') });
    expect(ok.data!.updateProfile).toEqual({ user: { id: globalId('User', A.learner2.id), displayName: 'Leo L.', timeZone: 'Europe/Paris', locale: 'en-GB' }, errors: [] });
    // Others do not see them (an admin sees the email, not the time zone or locale).
    const seen = await gql(url, `query($id: ID!) { user(id: $id) { displayName email timeZone locale } }`, { id: globalId('User', A.learner2.id) }, { actor: as(A, 'admin') });
    expect(seen.data!.user).toEqual({ displayName: 'Leo L.', email: A.learner2.email, timeZone: null, locale: null });
    const res = await fetch(new URL('/internal/users/contacts', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...serviceHeaders('notifications', 'identity', A.org.id) },
      body: JSON.stringify({ tenantId: A.org.id, userIds: [A.learner2.id] }),
    });
    expect(contactsResponse.parse(await res.json()).contacts).toEqual([{ userId: A.learner2.id, email: A.learner2.email, displayName: 'Leo L.', timeZone: 'Europe/Paris', locale: 'en-GB' }]);
  });

  it('changes the password after checking the current one, ending every other session of the person', async () => {
    const person = await seedMember(running.deps.orm, B.org, { email: 'pw.changer@gr-b.example', roles: ['LEARNER'] });
    await seedMember(running.deps.orm, A.org, { email: person.email, roles: ['INSTRUCTOR'] });
    const inB = await login(person.email, TEST_PASSWORD, 'gr-b');
    const inA = await login(person.email, TEST_PASSWORD, 'gr-a');
    const CHANGE = `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken roles organization { slug } errors { code path } } }`;
    const who = actor({ userId: person.id, tenantId: B.org.id, roles: ['LEARNER'] });
    const wrong = await gql(url, CHANGE, { input: { currentPassword: 'not-my-password', newPassword: 'a-brand-new-password', idempotencyKey: idem() } }, { actor: who });
    expect(wrong.data!.changePassword).toMatchObject({ accessToken: null, errors: [{ code: 'WRONG_PASSWORD', path: ['input', 'currentPassword'] }] });
    const weak = await gql(url, CHANGE, { input: { currentPassword: TEST_PASSWORD, newPassword: 'short', idempotencyKey: idem() } }, { actor: who });
    expect(weak.data!.changePassword.errors).toEqual([{ code: 'WEAK_PASSWORD', path: ['input', 'newPassword'] }]);
    const ok = await gql(url, CHANGE, { input: { currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-password', idempotencyKey: idem() } }, { actor: who });
    expect(ok.data!.changePassword).toMatchObject({ roles: ['LEARNER'], organization: { slug: 'gr-b' }, errors: [] });
    const REFRESH = `mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken errors { code } } }`;
    const refresh = (refreshToken: string) => gql(url, REFRESH, { input: { refreshToken, idempotencyKey: idem() } }, { actor: anon() });
    // Both earlier sessions (two organizations) ended; the new one works.
    expect((await refresh(inB.data!.login.refreshToken)).data!.refreshSession.errors).toEqual([{ code: 'SESSION_INVALID' }]);
    expect((await refresh(inA.data!.login.refreshToken)).data!.refreshSession.errors).toEqual([{ code: 'SESSION_INVALID' }]);
    expect((await refresh(ok.data!.changePassword.refreshToken)).data!.refreshSession.errors).toEqual([]);
    expect((await login(person.email, TEST_PASSWORD, 'gr-b')).data!.login.errors).toEqual([{ code: 'INVALID_CREDENTIALS' }]);
    expect((await login(person.email, 'a-brand-new-password', 'gr-a')).data!.login.errors).toEqual([]);
  });
});

describe('API keys', () => {
  it('grants every scope a subgraph checks; each is accepted by that subgraph’s access rule', async () => {
    const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id scopes } errors { code } } }`;
    const verify = async (key: string) => {
      const res = await fetch(new URL('/internal/api-keys/verify', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...serviceHeaders('gateway', 'identity', null) },
        body: JSON.stringify({ key }),
      });
      return (await res.json()) as { valid: boolean; tenantId: string; apiKeyId: string; scopes: string[] };
    };
    const keyActor = async (scope: keyof typeof API_KEY_SCOPES): Promise<Actor> => {
      const r = await gql(url, CREATE, { input: { name: `key ${scope}`, scopes: [scope], idempotencyKey: idem() } }, { actor: as(A, 'admin') });
      expect(r.data!.createApiKey).toMatchObject({ apiKey: { scopes: [scope] }, errors: [] });
      const v = await verify(r.data!.createApiKey.secret);
      expect(v).toMatchObject({ valid: true, scopes: [API_KEY_SCOPES[scope]] });
      return actor({ kind: 'api_key', userId: null, apiKeyId: v.apiKeyId, tenantId: v.tenantId, scopes: v.scopes });
    };
    const keys = Object.fromEntries(await Promise.all((Object.keys(API_KEY_SCOPES) as (keyof typeof API_KEY_SCOPES)[]).map(async (s) => [s, await keyActor(s)] as const)));
    // The requirements the subgraphs' access rules state (enrollment's reader and admin rules,
    // learning's admin rule, catalog's reader rule), through the kernel's authorize.
    expect(() => authorize(keys.ENROLLMENT_READ!, { scope: 'enrollment:read' })).not.toThrow();
    expect(() => authorize(keys.ENROLLMENT_READ!, { roles: ['ORG_ADMIN'], scope: 'enrollment:write' })).toThrow(/enrollment:write/);
    expect(() => authorize(keys.ENROLLMENT_WRITE!, { roles: ['ORG_ADMIN'], scope: 'enrollment:write' })).not.toThrow();
    expect(() => authorize(keys.CATALOG_READ!, { scope: 'enrollment:read' })).toThrow(/enrollment:read/);
    expect(() => authorize(keys.LEARNING_ADMIN!, { roles: ['ORG_ADMIN'], scope: 'learning:admin' })).not.toThrow();
    expect(() => authorize(keys.CATALOG_READ!, { scope: 'catalog:read' })).not.toThrow();
    // The same name twice is an expected outcome, not an exception; so is an unknown key.
    const dup = await gql(url, CREATE, { input: { name: 'key CATALOG_READ', scopes: ['CATALOG_READ'], idempotencyKey: idem() } }, { actor: as(A, 'admin') });
    expect(dup.data!.createApiKey).toEqual({ secret: null, apiKey: null, errors: [{ code: 'NAME_TAKEN' }] });
    const unknown = await gql(url, `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } errors { code path } } }`,
      { input: { apiKeyId: globalId('ApiKey', '00000000-0000-4000-8000-0000000000bb'), idempotencyKey: idem() } }, { actor: as(A, 'admin') });
    expect(unknown.data!.revokeApiKey).toEqual({ apiKey: null, errors: [{ code: 'NOT_FOUND', path: ['input', 'apiKeyId'] }] });
  });

  it('covers every scope any subgraph (or the kernel policy) checks', () => {
    const root = new URL('../../../', import.meta.url);
    const sources = [
      ...readdirSync(new URL('subgraphs/', root)).map((name) => new URL(`subgraphs/${name}/src/access.ts`, root)),
      new URL('packages/kernel/src/policy.ts', root),
    ].flatMap((file) => {
      try {
        return [readFileSync(file, 'utf8')];
      } catch {
        return [];
      }
    });
    const checked = new Set(sources.flatMap((src) => [...src.matchAll(/scopes?(?:\.includes\(|:\s*)'([a-z]+:[a-z]+)'/g)].map((m) => m[1]!)));
    expect(checked.size).toBeGreaterThanOrEqual(5);
    expect([...checked].filter((scope) => !(Object.values(API_KEY_SCOPES) as string[]).includes(scope))).toEqual([]);
  });

  it('pages API keys both ways with totalCount and a revoked filter', async () => {
    const admin = as(B, 'admin');
    for (let i = 0; i < 5; i++) {
      await gql(url, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`, { input: { name: `page ${i}`, scopes: ['CATALOG_READ'], idempotencyKey: idem() } }, { actor: admin });
    }
    const Q = `query($first: Int, $after: String, $last: Int, $before: String, $filter: ApiKeyFilter) {
      apiKeys(first: $first, after: $after, last: $last, before: $before, filter: $filter) { totalCount nodes { id name } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const p1 = (await gql(url, Q, { first: 2 }, { actor: admin })).data!.apiKeys;
    expect(p1.totalCount).toBe(5);
    expect(p1.nodes.map((n: { name: string }) => n.name)).toEqual(['page 4', 'page 3']);
    expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const p2 = (await gql(url, Q, { first: 2, after: p1.pageInfo.endCursor }, { actor: admin })).data!.apiKeys;
    expect(p2.nodes.map((n: { name: string }) => n.name)).toEqual(['page 2', 'page 1']);
    const back = (await gql(url, Q, { last: 2, before: p2.pageInfo.startCursor }, { actor: admin })).data!.apiKeys;
    expect(back.nodes.map((n: { name: string }) => n.name)).toEqual(['page 4', 'page 3']);
    expect(back.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    await gql(url, `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { errors { code } } }`, { input: { apiKeyId: p1.nodes[0].id, idempotencyKey: idem() } }, { actor: admin });
    const revoked = (await gql(url, Q, { filter: { revoked: true } }, { actor: admin })).data!.apiKeys;
    expect({ count: revoked.totalCount, names: revoked.nodes.map((n: { name: string }) => n.name) }).toEqual({ count: 1, names: ['page 4'] });
    expect((await gql(url, Q, { filter: { revoked: false } }, { actor: admin })).data!.apiKeys.totalCount).toBe(4);
  });
});

describe('members', () => {
  it('pages members in either order, both ways, with totalCount and a filter', async () => {
    const Q = `query($first: Int, $after: String, $last: Int, $before: String, $orderBy: MembershipOrder, $filter: MembershipFilter) {
      members(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter) {
        totalCount nodes { id user { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const who = as(B, 'admin');
    const all = (await gql(url, Q, { first: 100, filter: { status: 'ACTIVE' } }, { actor: who })).data!.members;
    const ids = all.nodes.map((n: { id: string }) => n.id);
    expect(all.totalCount).toBe(ids.length);
    const desc = (await gql(url, Q, { first: 100, orderBy: { field: 'CREATED_AT', direction: 'DESC' }, filter: { status: 'ACTIVE' } }, { actor: who })).data!.members;
    expect(desc.nodes.map((n: { id: string }) => n.id)).toEqual([...ids].reverse());
    const last2 = (await gql(url, Q, { last: 2, filter: { status: 'ACTIVE' } }, { actor: who })).data!.members;
    expect(last2.nodes.map((n: { id: string }) => n.id)).toEqual(ids.slice(-2));
    expect(last2.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const before = (await gql(url, Q, { last: 2, before: last2.pageInfo.startCursor, filter: { status: 'ACTIVE' } }, { actor: who })).data!.members;
    expect(before.nodes.map((n: { id: string }) => n.id)).toEqual(ids.slice(-4, -2));
    const learners = (await gql(url, Q, { first: 100, filter: { role: 'LEARNER' } }, { actor: who })).data!.members;
    expect(learners.totalCount).toBe(learners.nodes.length);
    // Every id is a global id that refetches the same membership.
    const one = await gql(url, `query($id: ID!) { member(id: $id) { id roles } }`, { id: ids[0] }, { actor: who });
    expect(one.data!.member.id).toBe(ids[0]);
    expect((await gql(url, `query($id: ID!) { member(id: $id) { id } }`, { id: idOf(ids[0], 'Membership') }, { actor: who })).data!.member).toBeNull();
  });

  it('refuses to invite a member or a pending invitee again, and re-invites once an invitation lapsed', async () => {
    const INVITE = `mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { id roles status } errors { code path } } }`;
    const send = (email: string, roles: string[]) => gql(url, INVITE, { input: { email, roles, idempotencyKey: idem() } }, { actor: as(B, 'admin') });
    expect((await send(B.learner.email, ['LEARNER'])).data!.inviteMember).toEqual({ invitation: null, errors: [{ code: 'ALREADY_MEMBER', path: ['input', 'email'] }] });
    const first = (await send('lapsed@gr-b.example', ['LEARNER'])).data!.inviteMember;
    expect((await send('lapsed@gr-b.example', ['LEARNER'])).data!.inviteMember.errors).toEqual([{ code: 'ALREADY_MEMBER', path: ['input', 'email'] }]);
    const pool = adminPool(db, 1);
    await pool.query(`update identity.invitations set expires_at = now() - interval '1 minute' where id = $1`, [idOf(first.invitation.id, 'Invitation')]);
    await pool.end();
    const expired = await gql(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Invitation { status } } }`, { r: [{ __typename: 'Invitation', id: first.invitation.id }] }, { actor: as(B, 'admin') });
    expect(expired.data!._entities).toEqual([{ status: 'EXPIRED' }]);
    const again = (await send('lapsed@gr-b.example', ['INSTRUCTOR'])).data!.inviteMember;
    expect(again).toMatchObject({ invitation: { roles: ['INSTRUCTOR'], status: 'PENDING' }, errors: [] });
    expect(again.invitation.id).not.toBe(first.invitation.id);
    // Another organization's admin cannot refetch it.
    const foreign = await gql(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Invitation { id } } }`, { r: [{ __typename: 'Invitation', id: again.invitation.id }] }, { actor: as(A, 'admin') });
    expect(foreign.data!._entities).toEqual([null]);
  });

  it('stops resolving a removed member’s User (that field alone degrades), and never an invitee’s', async () => {
    const gone = await seedMember(running.deps.orm, A.org, { email: 'leaving@gr-a.example', displayName: 'Lea Leaving', roles: ['LEARNER'] });
    const refs = (ids: string[]) => ids.map((id) => ({ __typename: 'User', id: globalId('User', id) }));
    const Q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName } } }`;
    const before = await gql(url, Q, { r: refs([gone.id, A.learner.id]) }, { actor: as(A, 'instructor') });
    expect(before.data!._entities).toEqual([{ id: globalId('User', gone.id), displayName: 'Lea Leaving' }, { id: globalId('User', A.learner.id), displayName: 'Lena Learner' }]);
    const pool = adminPool(db, 1);
    await pool.query('delete from identity.memberships where user_id = $1 and tenant_id = $2', [gone.id, A.org.id]);
    await pool.end();
    const after = await gql(url, Q, { r: refs([gone.id, A.learner.id, '00000000-0000-4000-8000-0000000000cc']) }, { actor: as(A, 'instructor') });
    expect(after.errors).toBeUndefined();
    expect(after.data!._entities).toEqual([null, { id: globalId('User', A.learner.id), displayName: 'Lena Learner' }, null]);
    // A plain UUID (not a global id) names nothing.
    expect((await gql(url, Q, { r: [{ __typename: 'User', id: A.learner.id }] }, { actor: as(A, 'instructor') })).data!._entities).toEqual([null]);
  });
});

describe('the first SUPER_ADMIN', () => {
  it('is created by a documented command (idempotent) and can then create an organization', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['scripts/create-super-admin.ts', ...args], {
        cwd: new URL('../../../', import.meta.url).pathname,
        env: { ...process.env, DATABASE_URL: db.url, DATABASE_OWNER_USER: 'lectern_owner', LOG_LEVEL: 'silent' },
      });
    const args = ['--email', 'Olga.Ops@Platform.example', '--password', 'operators-password-1', '--name', 'Olga Operator', '--organization', 'platform-ops', '--organization-name', 'Platform operators'];
    expect((await run(args)).stdout).toMatch(/super admin olga\.ops@platform\.example created .*organization "platform-ops" created/);
    // Running it again changes nothing (the command's function, in process: a second CLI start costs seconds).
    const again = await createSuperAdmin(db.ownerUrl, { email: 'olga.ops@platform.example', password: 'operators-password-1', organization: { slug: 'platform-ops' } });
    expect(again).toMatchObject({ status: 'unchanged', organization: { slug: 'platform-ops', created: false } });
    // Signs in (a SUPER_ADMIN may sign in to any organization) and creates one.
    const signed = await login('olga.ops@platform.example', 'operators-password-1', 'platform-ops');
    expect(signed.data!.login.errors).toEqual([]);
    const claims = decodeJwt(signed.data!.login.accessToken);
    expect(claims.sa).toBe(true);
    const operator = actor({ userId: claims.sub!, tenantId: claims.tid as string, roles: [], superAdmin: true });
    const created = await gql(url, `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id slug name } errors { code } } }`,
      { input: { slug: 'second-org', name: 'Second Org', idempotencyKey: idem() } }, { actor: operator });
    expect(created.data!.createOrganization).toMatchObject({ organization: { slug: 'second-org', name: 'Second Org' }, errors: [] });
    expect(idOf(created.data!.createOrganization.organization.id, 'Organization')).toEqual(expect.any(String));
    // On an existing account it only makes it SUPER_ADMIN (its password is unchanged).
    expect(await createSuperAdmin(db.ownerUrl, { email: A.learner.email, password: 'other-password-12' })).toMatchObject({ status: 'promoted', organization: null });
    expect((await login(A.learner.email, TEST_PASSWORD, 'gr-a')).data!.login.errors).toEqual([]);
  });
});
