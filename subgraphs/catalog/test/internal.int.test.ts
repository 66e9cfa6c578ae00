// catalog's internal course-structure endpoint: what enrollment and learning read when an
// offering is scheduled or a completion policy is built. Service callers only; one
// organization at a time; drafts never leak.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, actorHeader, adminPool, serviceHeaders } from '@lectern/testkit';
import { seedCourse } from '../src/testing/index.ts';
import { COURSE_STRUCTURE_PATH, courseStructureResponse } from '@lectern/contracts/catalog';
import { startTestCatalog, type TestCatalog } from './helpers.ts';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog();
});
afterAll(() => catalog?.close());

/** Asks as the enrollment service for the body's tenant, or with `headers` instead (e.g. a user's actor). */
async function ask(body: unknown, headers?: Record<string, string>) {
  const tenantId = (body as { tenantId?: string }).tenantId ?? null;
  const res = await fetch(new URL(COURSE_STRUCTURE_PATH, catalog.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(headers ?? serviceHeaders('enrollment', 'catalog', tenantId)) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe('course structure (internal)', () => {
  const tenantId = randomUUID();
  const author = randomUUID();
  let prerequisite: Awaited<ReturnType<typeof seedCourse>>;
  let course: Awaited<ReturnType<typeof seedCourse>>;
  let draft: Awaited<ReturnType<typeof seedCourse>>;

  beforeAll(async () => {
    const orm = catalog.running.deps.orm;
    prerequisite = await seedCourse(orm, { tenantId, authorId: author, published: true });
    course = await seedCourse(orm, {
      tenantId,
      authorId: author,
      published: true,
      prerequisiteCourseIds: [prerequisite.id],
      modules: [
        { title: 'One', lessons: [{ title: 'Watch', kind: 'VIDEO', durationSeconds: 600 }, { title: 'Read', kind: 'TEXT', required: false }] },
        { title: 'Two', lessons: [{ title: 'Check', kind: 'QUIZ' }] },
      ],
    });
    draft = await seedCourse(orm, { tenantId, authorId: author });
  });

  it('answers published versions with their lessons in course order, and prerequisites', async () => {
    const first = courseStructureResponse.parse((await ask({ tenantId, courseIds: [course.id, draft.id] })).body);
    const c = first.courses.find((x) => x.courseId === course.id)!;
    expect(c).toMatchObject({ title: course.title, status: 'PUBLISHED', prerequisiteCourseIds: [prerequisite.id] });
    expect(first.courses.find((x) => x.courseId === draft.id)).toMatchObject({ title: draft.title, status: 'DRAFT', publishedVersionId: null });

    const { versions } = courseStructureResponse.parse((await ask({ tenantId, versionIds: [c.publishedVersionId] })).body);
    expect(versions).toHaveLength(1);
    expect(versions[0]!.lessons.map((l) => [l.lessonId, l.kind, l.required, l.durationSeconds])).toEqual([
      [course.modules[0]!.lessons[0]!.id, 'VIDEO', true, 600],
      [course.modules[0]!.lessons[1]!.id, 'TEXT', false, null],
      [course.modules[1]!.lessons[0]!.id, 'QUIZ', true, null],
    ]);
    expect(versions[0]!.lessons[2]!.quizId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never answers a draft version, nor another organization', async () => {
    const admin = adminPool(catalog.db);
    const { rows } = await admin.query<{ latest_version_id: string }>('SELECT latest_version_id FROM catalog.courses WHERE id = $1', [draft.id]);
    await admin.end();
    const versionId = rows[0]!.latest_version_id;
    expect(courseStructureResponse.parse((await ask({ tenantId, versionIds: [versionId] })).body).versions).toEqual([]);
    const other = courseStructureResponse.parse((await ask({ tenantId: randomUUID(), courseIds: [course.id, prerequisite.id] })).body);
    expect(other.courses).toEqual([]);
  });

  it('refuses callers that are not services, and bad input', async () => {
    expect((await ask({ tenantId, courseIds: [course.id] }, { 'x-lectern-actor': await actorHeader(actor({ tenantId, roles: ['ORG_ADMIN'] })) })).status).toBe(401);
    expect((await ask({ tenantId, courseIds: ['nope'] })).status).toBe(400);
    expect((await ask({ tenantId, courseIds: [], extra: 1 })).status).toBe(400);
  });
});
