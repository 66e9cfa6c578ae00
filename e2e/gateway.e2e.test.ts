// Through the gateway, as clients see Lectern: authentication, tenant isolation across
// subgraphs, federation batching, limits, error hygiene, and the GraphQL-over-HTTP audit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, importJWK, decodeJwt } from 'jose';
import { serverAudits } from 'graphql-http';
import { DEV_IDENTITY_PRIVATE_KEY } from '@lectern/kernel/dev-keys';
import { globalId } from '@lectern/kernel/ids';
import { idem } from '@lectern/testkit';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { startStack, run, type Stack } from './src/harness.ts';
import { CourseDocument, CoursesDocument, CreateApiKeyDocument, CreateCourseDocument, LoginDocument, MeDocument, SearchCoursesDocument } from './__generated__/graphql.ts';

let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
const tokens = { aAdmin: '', aLearner: '', bAdmin: '', bLearner: '' };
const courseIdsA: string[] = [];

async function login(email: string, slug: string) {
  const r = await run(stack.url, LoginDocument, { input: { email, password: TEST_PASSWORD, organizationSlug: slug, idempotencyKey: idem() } });
  expect(r.errors).toBeUndefined();
  expect(r.data!.login.errors).toEqual([]);
  const token = r.data!.login.accessToken;
  expect(token).toEqual(expect.any(String));
  return token!;
}

beforeAll(async () => {
  stack = await startStack('gateway');
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'globex');
  for (let i = 0; i < 100; i++) {
    const c = await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorIds: [A.admin.id, A.instructor.id], title: `Acme course ${String(i).padStart(3, '0')} safety`, published: true });
    courseIdsA.push(c.id);
  }
  await seedCourse(stack.catalog.deps.orm, { tenantId: B.org.id, authorIds: [B.instructor.id], title: 'Globex secret safety plan', published: true });
  tokens.aAdmin = await login(A.admin.email, 'acme');
  tokens.aLearner = await login(A.learner.email, 'acme');
  tokens.bAdmin = await login(B.admin.email, 'globex');
  tokens.bLearner = await login(B.learner.email, 'globex');
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('through the gateway', () => {
  it('signs in and answers me', async () => {
    const me = await run(stack.url, MeDocument, {}, tokens.aAdmin);
    expect(me.data!.me).toMatchObject({ kind: 'USER', roles: ['ORG_ADMIN'], user: { id: globalId('User', A.admin.id), email: A.admin.email }, organization: { slug: 'acme' } });
    expect((await run(stack.url, MeDocument, {})).data!.me).toBeNull();
  });

  it('resolves Course.authors from identity, batched across the page', async () => {
    const r = await run(stack.url, CoursesDocument, { first: 3 }, tokens.aLearner);
    expect(r.errors).toBeUndefined();
    const authors = r.data!.courses.nodes[0]!.authors;
    expect(authors.map((a) => a?.id).sort()).toEqual([globalId('User', A.admin.id), globalId('User', A.instructor.id)].sort());
    expect(authors.map((a) => a?.displayName).sort()).toEqual(['Ada Admin', 'Ivan Instructor']);
  });

  it('keeps organization B away from A’s courses by list, by id and by search; by id looks like a missing id', async () => {
    const list = await run(stack.url, CoursesDocument, { first: 100 }, tokens.bLearner);
    expect(list.data!.courses.nodes.map((n) => n.title)).toEqual(['Globex secret safety plan']);
    const foreign = await run(stack.url, CourseDocument, { id: globalId('Course', courseIdsA[0]!) }, tokens.bAdmin);
    const missing = await run(stack.url, CourseDocument, { id: globalId('Course', '00000000-0000-4000-8000-000000000000') }, tokens.bAdmin);
    expect(foreign.body).toBe(missing.body);
    expect(foreign.data!.course).toBeNull();
    const own = await run(stack.url, CourseDocument, { id: globalId('Course', courseIdsA[0]!) }, tokens.aAdmin);
    expect(own.data!.course).toMatchObject({ id: globalId('Course', courseIdsA[0]!), title: 'Acme course 000 safety' });
    const search = await run(stack.url, SearchCoursesDocument, { query: 'safety' }, tokens.bLearner);
    expect(search.data!.searchCourses.nodes.map((n) => n.title)).toEqual(['Globex secret safety plan']);
    const aSearch = await run(stack.url, SearchCoursesDocument, { query: 'safety' }, tokens.aLearner);
    expect(aSearch.data!.searchCourses.nodes).toHaveLength(20);
    expect(aSearch.data!.searchCourses.nodes.map((n) => n.title)).not.toContain('Globex secret safety plan');
  });

  it('never forwards a client’s tenant or actor headers', async () => {
    const forged = { 'x-tenant-id': A.org.id, 'x-lectern-actor': 'forged', 'x-forwarded-tenant': A.org.id };
    const r = await run(stack.url, CoursesDocument, { first: 100 }, tokens.bLearner, forged);
    expect(r.data!.courses.nodes.map((n) => n.title)).toEqual(['Globex secret safety plan']);
    const anonymous = await run(stack.url, CoursesDocument, { first: 5 }, undefined, forged);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers FORBIDDEN to a learner calling an authoring mutation, and lets an instructor author', async () => {
    const denied = await run(stack.url, CreateCourseDocument, { input: { title: 'Learner course', idempotencyKey: idem() } }, tokens.aLearner);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ok = await run(stack.url, CreateCourseDocument, { input: { title: 'New draft', idempotencyKey: idem() } }, tokens.aAdmin);
    expect(ok.data!.createCourse.course).toMatchObject({ title: 'New draft', status: 'DRAFT' });
  });

  it('makes mutations idempotent through the gateway', async () => {
    const key = idem();
    const input = { title: 'Idempotent course', idempotencyKey: key };
    const [r1, r2] = await Promise.all([
      run(stack.url, CreateCourseDocument, { input }, tokens.aAdmin),
      run(stack.url, CreateCourseDocument, { input }, tokens.aAdmin),
    ]);
    const codes = [r1, r2].map((r) => r.errors?.[0]?.extensions?.code ?? 'OK').sort();
    expect(codes[0] === 'CONFLICT' || codes.every((c) => c === 'OK')).toBe(true);
    const winner = [r1, r2].find((r) => !r.errors)!;
    const replay = await run(stack.url, CreateCourseDocument, { input }, tokens.aAdmin);
    expect(replay.data!.createCourse.course!.id).toBe(winner.data!.createCourse.course!.id);
    const different = await run(stack.url, CreateCourseDocument, { input: { ...input, title: 'Something else' } }, tokens.aAdmin);
    expect(different.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('accepts scoped API keys and refuses what their scopes do not allow', async () => {
    const created = await run(stack.url, CreateApiKeyDocument, { input: { name: 'reader', scopes: ['CATALOG_READ'], idempotencyKey: idem() } }, tokens.aAdmin);
    expect(created.data!.createApiKey.errors).toEqual([]);
    const secret = created.data!.createApiKey.secret!;
    expect(secret).toEqual(expect.any(String));
    const list = await run(stack.url, CoursesDocument, { first: 2 }, secret);
    expect(list.data!.courses.nodes).toHaveLength(2);
    const write = await run(stack.url, CreateCourseDocument, { input: { title: 'By key', idempotencyKey: idem() } }, secret);
    expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bogus = await run(stack.url, CoursesDocument, { first: 2 }, `${secret.slice(0, -4)}AAAA`);
    expect(bogus.status).toBe(401);
  });
});

describe('bad credentials', () => {
  const courses = (token: string) => run(stack.url, CoursesDocument, { first: 1 }, token);

  it('rejects expired, tampered and alg:none tokens with UNAUTHENTICATED', async () => {
    const claims = decodeJwt(tokens.aAdmin);
    const key = await importJWK({ ...JSON.parse(DEV_IDENTITY_PRIVATE_KEY), alg: 'EdDSA' }, 'EdDSA');
    const expired = await new SignJWT({ tid: claims.tid, roles: claims.roles, sa: false, sid: claims.sid })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).setIssuer('lectern-identity').setAudience('lectern').setSubject(String(claims.sub))
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600).setExpirationTime(Math.floor(Date.now() / 1000) - 1800).sign(key);
    const [h, p, s] = tokens.aLearner.split('.');
    const elevated = Buffer.from(JSON.stringify({ ...decodeJwt(tokens.aLearner), roles: ['ORG_ADMIN'] })).toString('base64url');
    const tampered = `${h}.${elevated}.${s}`;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
    for (const token of [expired, tampered, none, 'not-a-token']) {
      const r = await courses(token);
      expect(r.status).toBe(401);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.body).not.toMatch(/at .*\.ts|stack|JWS|JWT/);
    }
  });
});

describe('limits and malformed requests', () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const query = (q: string) => post(JSON.stringify({ query: q }), { authorization: `Bearer ${tokens.aLearner}` });
  const expectClean = async (res: Response, status: RegExp = /^4\d\d$/) => {
    const text = await res.text();
    expect(String(res.status)).toMatch(status);
    expect(text).not.toMatch(/\bat\s+\S+\.(ts|js):\d+|stacktrace|node_modules/);
    const body = JSON.parse(text) as { errors: { message: string }[] };
    expect(body.errors[0]!.message.length).toBeGreaterThan(10);
    return body;
  };

  it('refuses depth 50', async () => {
    let deep = 'id';
    for (let i = 0; i < 50; i++) deep = `prerequisites { ${deep} }`;
    const body = await expectClean(await query(`{ courses(first: 1) { nodes { ${deep} } } }`));
    expect(body.errors[0]!.message).toMatch(/depth \d+ exceeds the maximum of 12/);
  });

  it('refuses 1,000 aliases, 1,000 __typename and 100 directives', async () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ');
    expect((await expectClean(await post(JSON.stringify({ query: `{ ${aliases} }` })))).errors[0]!.message).toMatch(/alias|token/i);
    // A plain __typename is no alias (Apollo Client adds one to every selection set), but 1,000
    // repeats of one field still exhaust graphql's own validation budget for overlapping fields.
    const typenames = Array.from({ length: 1000 }, () => '__typename').join(' ');
    expect((await expectClean(await post(JSON.stringify({ query: `{ ${typenames} }` })))).errors[0]!.message).toMatch(/alias|token|validation aborted/i);
    const directives = Array.from({ length: 100 }, () => '@skip(if: false)').join(' ');
    expect((await expectClean(await post(JSON.stringify({ query: `{ __typename ${directives} }` })))).errors[0]!.message).toMatch(/directive|token/i);
    const few = Array.from({ length: 40 }, () => '@skip(if: false)').join(' ');
    expect((await expectClean(await post(JSON.stringify({ query: `{ __typename ${few} }` })))).errors[0]!.message).toMatch(/40 directives/);
  });

  it('refuses a 5,000-token document with 400, not 500', async () => {
    const fields = Array.from({ length: 2500 }, () => 'id').join(' ');
    const res = await query(`{ courses(first: 1) { nodes { ${fields} } } }`);
    expect(res.status).toBe(400);
    const body = await expectClean(res);
    expect(body.errors[0]!.message).toMatch(/token/i);
  });

  it('refuses a 2 MB body with 413 and malformed JSON with 400', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await post(big);
    expect(res.status).toBe(413);
    await expectClean(res, /^413$/);
    const bad = await post('{"query": "{ __typename }"');
    await expectClean(bad, /^400$/);
  });
});

describe('N+1', () => {
  it('costs the same SQL statements per subgraph for 100 courses with authors as for 1', async () => {
    const measure = async (first: number) => {
      const before = { identity: stack.identity.deps.stats.statements, catalog: stack.catalog.deps.stats.statements };
      const r = await run(stack.url, CoursesDocument, { first }, tokens.aLearner);
      expect(r.errors).toBeUndefined();
      expect(r.data!.courses.nodes).toHaveLength(first);
      return {
        identity: stack.identity.deps.stats.statements - before.identity,
        catalog: stack.catalog.deps.stats.statements - before.catalog,
      };
    };
    await measure(1); // warm-up: loads nothing lazily later
    const one = await measure(1);
    const hundred = await measure(100);
    expect(hundred).toEqual(one);
    expect(one.catalog).toBeGreaterThan(0);
    expect(one.identity).toBeGreaterThan(0);
  });
});

describe('GraphQL over HTTP', () => {
  it('passes the graphql-http server audit with no errors', async () => {
    const results = await Promise.all(serverAudits({ url: stack.url, fetchFn: fetch }).map((a) => a.fn()));
    const errors = results.flatMap((r) => (r.status === 'error' ? [`${r.name}: ${r.reason}`] : []));
    const warnings = results.filter((r) => r.status === 'warn').length;
    expect(results.length).toBeGreaterThan(30);
    expect(warnings).toBeLessThan(results.length);
    expect(errors).toEqual([]);
  });
});
