// Tenant isolation (both layers, each alone) and the gateway-only trust boundary.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair, importJWK } from 'jose';
import { DEV_ACTOR_PRIVATE_KEY } from '@lectern/kernel/dev-keys';
import { tenantTablesWithoutRls } from '@lectern/kernel/db';
import { createOrm } from '@lectern/kernel/orm';
import { UnitOfWork, inTenant } from '@lectern/kernel/uow';
import { actor, actorHeader, adminPool } from '@lectern/testkit';
import { entities } from '../src/server.ts';
import { Course } from '../src/modules/course/course.entity.ts';
import { MUTATIONS, authorCourse, call, errorCode, gid, idem, ok, organization, startTestCatalog, type TestCatalog } from './helpers.ts';
import { idOf } from '@lectern/kernel/ids';

let t: TestCatalog;
const A = organization();
const B = organization();
let courseA: Awaited<ReturnType<typeof authorCourse>>;
let courseB: Awaited<ReturnType<typeof authorCourse>>;

beforeAll(async () => {
  t = await startTestCatalog();
  courseA = await authorCourse(t, A.admin, 'Zebra handling for experts', { publish: true, description: 'zebras everywhere' });
  courseB = await authorCourse(t, B.admin, 'Zebra basics', { publish: true });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const MISSING = gid.course('00000000-0000-4000-8000-000000000000');

describe('tenant isolation through the API', () => {
  it('hides A’s course from B by id exactly as a missing id, and by list and search', async () => {
    const q = `query($id: ID!) { course(id: $id) { id title } }`;
    const foreign = await call(t, B.admin, q, { id: courseA.courseId });
    const missing = await call(t, B.admin, q, { id: MISSING });
    expect(foreign.body).toBe(missing.body);
    expect(foreign.data).toEqual({ course: null });

    const lists = await ok(t, B.learner, `{ courses(first: 100) { nodes { id } } searchCourses(query: "zebra") { nodes { id } } }`);
    expect(lists.courses.nodes).toEqual([{ id: courseB.courseId }]);
    expect(lists.searchCourses.nodes).toEqual([{ id: courseB.courseId }]);
    const bySlug = await ok(t, B.admin, `{ courseBySlug(slug: "zebra-handling-for-experts") { id } }`);
    expect(bySlug.courseBySlug).toBeNull();
  });

  it('resolves _entities of another organization as null, like missing ones', async () => {
    const q = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Course { id title } ... on Lesson { id title } } }`;
    const reps = [
      { __typename: 'Course', id: courseA.courseId },
      { __typename: 'Lesson', id: courseA.lessonId },
      { __typename: 'Course', id: MISSING },
      { __typename: 'Course', id: courseB.courseId },
    ];
    const asB = await ok(t, B.learner, q, { reps });
    expect(asB._entities).toEqual([null, null, null, { id: courseB.courseId, title: 'Zebra basics' }]);
    const asA = await ok(t, A.learner, q, { reps });
    expect(asA._entities).toEqual([
      { id: courseA.courseId, title: 'Zebra handling for experts' },
      { id: courseA.lessonId, title: 'Lesson one' },
      null,
      null,
    ]);
  });

  it('answers a mutation on another organization’s course with the same NOT_FOUND as a missing one', async () => {
    const attempt = (courseId: string) => call(t, B.admin, MUTATIONS.updateCourse, { input: { courseId, title: 'Hijacked', idempotencyKey: idem() } });
    const foreign = await attempt(courseA.courseId);
    const missing = await attempt(MISSING);
    expect(errorCode(foreign)).toBe('NOT_FOUND');
    expect(foreign.errors).toEqual(missing.errors);
    const lesson = await call(t, B.admin, MUTATIONS.updateLesson, { input: { lessonId: courseA.lessonId, title: 'Hijacked', idempotencyKey: idem() } });
    expect(lesson.errors?.[0]).toMatchObject({ message: 'Lesson not found', extensions: { code: 'NOT_FOUND' } });
    const prereq = await call(t, B.admin, MUTATIONS.addCoursePrerequisite, {
      input: { courseId: courseB.courseId, prerequisiteCourseId: courseA.courseId, idempotencyKey: idem() },
    });
    expect(errorCode(prereq)).toBe('NOT_FOUND');
    expect((await ok(t, A.learner, `query($id: ID!) { course(id: $id) { title } }`, { id: courseA.courseId })).course.title).toBe('Zebra handling for experts');
  });

  it('treats malformed ids, plain UUIDs and ids of another type as missing in lookups, and as BAD_USER_INPUT in mutations', async () => {
    const r = await ok(t, A.admin, `query($plain: ID!, $lessonAsCourse: ID!) {
      course(id: "not-a-uuid") { id } lesson(id: "1") { id } plain: course(id: $plain) { id } wrongType: course(id: $lessonAsCourse) { id }
    }`, { plain: idOf(courseA.courseId, 'Course'), lessonAsCourse: gid.course(idOf(courseA.lessonId, 'Lesson')!) });
    expect(r).toEqual({ course: null, lesson: null, plain: null, wrongType: null });
    const plain = await call(t, A.admin, MUTATIONS.updateCourse, { input: { courseId: idOf(courseA.courseId, 'Course'), title: 'x', idempotencyKey: idem() } });
    expect(plain.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'courseId' });
    const wrongType = await call(t, A.admin, MUTATIONS.addModule, { input: { courseId: courseA.moduleId, title: 'x', idempotencyKey: idem() } });
    expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'courseId' });
  });
});

describe('trust boundary: only the gateway may call', () => {
  const post = (headers: Record<string, string>, query = '{ courses(first: 1) { nodes { id } } }') =>
    fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

  it('answers 401 without an actor context, including _service and _entities', async () => {
    for (const query of ['{ courses(first: 1) { nodes { id } } }', '{ _service { sdl } }', '{ _entities(representations: []) { __typename } }']) {
      const res = await post({}, query);
      expect(res.status).toBe(401);
      expect((await res.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers 401 to forged, tampered and expired contexts', async () => {
    const a = actor({ tenantId: A.tenantId, roles: ['ORG_ADMIN'] });
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT({ act: a })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'lectern-actor+jwt' })
      .setIssuer('lectern-gateway')
      .setAudience('lectern-subgraph')
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(privateKey);
    const genuine = await actorHeader(actor({ tenantId: B.tenantId, roles: ['LEARNER'] }));
    const [h, , s] = genuine.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ act: a, iss: 'lectern-gateway', aud: 'lectern-subgraph', exp: 9999999999 })).toString('base64url')}.${s}`;
    const devKey = await importJWK({ ...JSON.parse(DEV_ACTOR_PRIVATE_KEY), alg: 'EdDSA' }, 'EdDSA');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ act: a })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'lectern-actor+jwt' })
      .setIssuer('lectern-gateway')
      .setAudience('lectern-subgraph')
      .setIssuedAt(now - 600)
      .setExpirationTime(now - 540)
      .sign(devKey);
    for (const header of [forged, tampered, expired, 'garbage']) {
      const res = await post({ 'x-lectern-actor': header });
      expect(res.status).toBe(401);
      const text = await res.text();
      expect(text).not.toContain(courseA.courseId);
      expect(text).not.toContain(idOf(courseA.courseId, 'Course'));
    }
    // A tenant header of its own means nothing to a subgraph.
    expect((await post({ 'x-tenant-id': A.tenantId })).status).toBe(401);
  });
});

describe('two independent layers of tenant isolation', () => {
  it('every tenant table has FORCE RLS and a policy with WITH CHECK', async () => {
    const pool = adminPool(t.db);
    try {
      expect(await tenantTablesWithoutRls(pool, 'catalog')).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('row-level security alone holds (the ORM filter switched off)', async () => {
    const orm = t.running.deps.orm;
    await inTenant(orm, B.tenantId, async (uow) => {
      const em = await uow.em();
      const unfiltered = await em.find(Course, {}, { filters: false });
      expect(unfiltered.map((c) => c.tenantId)).toEqual([B.tenantId]);
      const [raw] = await em.execute<{ n: string }[]>('select count(*)::text as n from courses where tenant_id = ?', [A.tenantId]);
      expect(raw?.n).toBe('0');
    });
    // Writing a row for another tenant is refused by WITH CHECK.
    const uow = new UnitOfWork(orm, B.tenantId);
    const em = await uow.em();
    const updated = await em.execute<{ affectedRows: number }>(`update courses set slug = 'stolen' where id = ?`, [idOf(courseA.courseId, 'Course')], 'run');
    expect(updated.affectedRows).toBe(0);
    await expect(
      uow.write(async (tx) => {
        await tx.execute(
          `insert into course_versions (id, tenant_id, course_id, number, title, status) values (?, ?, ?, 99, 'x', 'DRAFT')`,
          [randomUUID(), A.tenantId, idOf(courseA.courseId, 'Course')],
        );
      }),
    ).rejects.toThrow(/row-level security/);
    await uow.rollback();
  });

  it('the ORM tenant filter alone holds (a superuser connection, which bypasses RLS)', async () => {
    const orm = await createOrm({ databaseUrl: t.db.url, schema: 'catalog', entities, user: 'postgres', poolMax: 1 });
    try {
      await inTenant(orm, B.tenantId, async (uow) => {
        const em = await uow.em();
        // Without the filter this connection sees both organizations: RLS is not what protects here.
        expect(new Set((await em.find(Course, {}, { filters: false })).map((c) => c.tenantId))).toEqual(new Set([A.tenantId, B.tenantId]));
      });
      // A fresh unit of work (the identity map above now holds A's rows, loaded unfiltered).
      await inTenant(orm, B.tenantId, async (uow) => {
        const em = await uow.em();
        const filtered = await em.find(Course, {});
        expect(filtered.map((c) => gid.course(c.id))).toEqual([courseB.courseId]);
        expect(await em.findOne(Course, { id: idOf(courseA.courseId, 'Course')! })).toBeNull();
      });
    } finally {
      await orm.close();
    }
  });
});
