// Every mutation is idempotent per (organization, mutation, caller, idempotencyKey).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badInput } from '@lectern/kernel';
import { inTenant } from '@lectern/kernel/uow';
import { adminPool } from '@lectern/testkit';
import { idOf } from '@lectern/kernel/ids';
import { createLoaders } from '../src/loaders.ts';
import { seedDirectory, seedVideoLibrary } from '../src/testing/index.ts';
import { runMutation } from '../src/modules/course/authoring.ts';
import { Course } from '../src/modules/course/course.entity.ts';
import { MUTATIONS, authorCourse, call, errorCode, idem, ok, organization, startTestCatalog, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
let admin: ReturnType<typeof adminPool>;
const org = organization();

beforeAll(async () => {
  t = await startTestCatalog();
  admin = adminPool(t.db);
}, 60_000);
afterAll(async () => {
  await admin?.end();
  await t?.close();
});

/** Courses with this title in the whole database (superuser: sees through RLS). */
async function coursesTitled(title: string): Promise<number> {
  const { rows } = await admin.query(`select count(distinct course_id)::int as n from catalog.course_versions where title = $1`, [title]);
  return rows[0].n as number;
}

describe('createCourse idempotency', () => {
  it('returns the same course for a replay with the same key and input', async () => {
    const input = { title: 'Replayed course', description: 'Once only', idempotencyKey: idem() };
    const first = await ok(t, org.admin, MUTATIONS.createCourse, { input });
    const replay = await ok(t, org.admin, MUTATIONS.createCourse, { input: { description: 'Once only', idempotencyKey: input.idempotencyKey, title: 'Replayed course' } });
    expect(replay.createCourse.course.id).toBe(first.createCourse.course.id);
    expect(await coursesTitled('Replayed course')).toBe(1);
  });

  it('refuses the same key with different input (IDEMPOTENCY_KEY_REUSED) and creates nothing', async () => {
    const key = idem();
    await ok(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Original', idempotencyKey: key } });
    const r = await call(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Different', idempotencyKey: key } });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED', field: 'idempotencyKey' });
    expect(await coursesTitled('Different')).toBe(0);
  });

  it('lets concurrent duplicates create exactly one course: the others get CONFLICT or the same result', async () => {
    const input = { title: 'Concurrent course', idempotencyKey: idem() };
    const results = await Promise.all(Array.from({ length: 8 }, () => call(t, org.admin, MUTATIONS.createCourse, { input })));
    const succeeded = results.filter((r) => !r.errors);
    const conflicts = results.filter((r) => errorCode(r) === 'CONFLICT');
    expect(succeeded.length + conflicts.length).toBe(8);
    expect(succeeded.length).toBeGreaterThan(0);
    expect(new Set(succeeded.map((r) => r.data!.createCourse.course.id)).size).toBe(1);
    expect(await coursesTitled('Concurrent course')).toBe(1);
    const replay = await ok(t, org.admin, MUTATIONS.createCourse, { input });
    expect(replay.createCourse.course.id).toBe(succeeded[0]!.data!.createCourse.course.id);
  });

  it('keeps keys private to the caller: another user with the same key gets their own course', async () => {
    const input = { title: 'Same key, two people', idempotencyKey: idem() };
    const a = await ok(t, org.admin, MUTATIONS.createCourse, { input });
    const b = await ok(t, org.instructor, MUTATIONS.createCourse, { input });
    expect(a.createCourse.course.id).not.toBe(b.createCourse.course.id);
  });

  it('refuses malformed keys', async () => {
    const r = await call(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Bad key', idempotencyKey: 'short' } });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' });
  });
});

describe('other mutations', () => {
  it('replays a stored typed error instead of re-running the mutation', async () => {
    const created = await ok(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Not ready', idempotencyKey: idem() } });
    const courseId = created.createCourse.course.id;
    const publish = { courseId, idempotencyKey: idem() };
    expect((await ok(t, org.admin, MUTATIONS.publishCourse, { input: publish })).publishCourse.errors[0].code).toBe('COURSE_HAS_NO_LESSONS');
    const mod = await ok(t, org.admin, MUTATIONS.addModule, { input: { courseId, title: 'M', idempotencyKey: idem() } });
    await ok(t, org.admin, MUTATIONS.addLesson, { input: { moduleId: mod.addModule.module.id, title: 'L', kind: 'TEXT', body: 'x', idempotencyKey: idem() } });
    const replay = await ok(t, org.admin, MUTATIONS.publishCourse, { input: publish });
    expect(replay.publishCourse).toMatchObject({ course: { status: 'DRAFT' }, errors: [{ code: 'COURSE_HAS_NO_LESSONS' }] });
    const fresh = await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(fresh.publishCourse).toMatchObject({ course: { status: 'PUBLISHED' }, errors: [] });
  });

  it('adds a module once per key', async () => {
    const { courseId } = await authorCourse(t, org.admin, 'Module replay');
    const input = { courseId, title: 'Only once', idempotencyKey: idem() };
    const [a, b] = [await ok(t, org.admin, MUTATIONS.addModule, { input }), await ok(t, org.admin, MUTATIONS.addModule, { input })];
    expect(b.addModule.module.id).toBe(a.addModule.module.id);
    const course = await ok(t, org.admin, `query($id: ID!) { course(id: $id) { modules { title } } }`, { id: courseId });
    expect(course.course.modules.map((m: { title: string }) => m.title)).toEqual(['Module one', 'Only once']);
  });

  it('undoes only the failed mutation of an operation; a retry of the other replays its stored result', async () => {
    const { courseId } = await authorCourse(t, org.admin, 'Two mutations');
    const okInput = { courseId, title: 'Renamed', idempotencyKey: idem() };
    const r = await call(
      t,
      org.admin,
      `mutation($ok: UpdateCourseInput!, $bad: UpdateCourseInput!) {
        a: updateCourse(input: $ok) { course { title } errors { code } }
        b: updateCourse(input: $bad) { course { title } errors { code } }
      }`,
      { ok: okInput, bad: { courseId, title: '', idempotencyKey: idem() } },
    );
    // Payloads are non-null, so the error of b nulls the whole response; a's change is kept.
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.path).toEqual(['b']);
    expect((await ok(t, org.admin, `query($id: ID!) { course(id: $id) { title } }`, { id: courseId })).course.title).toBe('Renamed');
    const retry = await ok(t, org.admin, MUTATIONS.updateCourse, { input: okInput });
    expect(retry.updateCourse).toMatchObject({ course: { title: 'Renamed' }, errors: [] });
    const versions = await admin.query(`select count(*)::int as n from catalog.course_versions where course_id = $1`, [idOf(courseId, 'Course')]);
    expect(versions.rows[0].n).toBe(1);
  });

  it('a failed mutation cannot leak changes it made to already-loaded entities into the request’s commit', async () => {
    const { courseId } = await authorCourse(t, org.admin, 'Untouchable');
    await inTenant(t.running.deps.orm, org.tenantId, async (uow) => {
      const deps = { actor: org.admin, uow, loaders: createLoaders(uow), directory: seedDirectory([]), media: seedVideoLibrary(new Map()) };
      await deps.loaders.course.load(idOf(courseId, 'Course')!); // loaded by the request before the mutation
      await expect(
        runMutation(deps, 'test', { idempotencyKey: idem() }, async (em) => {
          const course = await em.findOneOrFail(Course, { id: idOf(courseId, 'Course')! });
          course.slug = 'leaked';
          throw badInput('refused after touching the course');
        }),
      ).rejects.toThrow('refused');
    }); // inTenant commits the request transaction (and flushes whatever is dirty)
    const slug = await ok(t, org.admin, `query($id: ID!) { course(id: $id) { slug } }`, { id: courseId });
    expect(slug.course.slug).toBe('untouchable');
  });
});
