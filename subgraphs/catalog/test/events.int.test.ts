// Catalog's facts leave through its outbox, in the transaction of the change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf } from '@lectern/kernel/ids';
import type pg from 'pg';
import { adminPool } from '@lectern/testkit';
import { MUTATIONS, authorCourse, idem, ok, organization, startTestCatalog, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
let admin: pg.Pool;
beforeAll(async () => {
  t = await startTestCatalog();
  admin = adminPool(t.db, 1);
});
afterAll(async () => {
  await admin?.end();
  await t?.close();
});

/** The outbox rows of a course (events carry plain UUIDs, the API global ids). */
const events = async (courseId: string) =>
  (await admin.query(`select type, tenant_id, payload from catalog.outbox where aggregate_id = $1 order by seq`, [idOf(courseId, 'Course')])).rows;

describe('catalog events', () => {
  it('records CoursePublished on each publication and CourseUnpublished on unpublishing, ids only', async () => {
    const org = organization();
    const { courseId } = await authorCourse(t, org.instructor, 'Eventful course', { publish: true });
    const [first] = await events(courseId);
    expect(first).toEqual({
      type: 'catalog.CoursePublished',
      tenant_id: org.tenantId,
      payload: { courseId: idOf(courseId, 'Course'), versionId: expect.any(String), previousVersionId: null, publishedBy: org.instructor.userId },
    });
    await ok(t, org.instructor, MUTATIONS.updateCourse, { input: { courseId, title: 'Eventful course, v2', idempotencyKey: idem() } });
    await ok(t, org.instructor, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    await ok(t, org.instructor, MUTATIONS.unpublishCourse, { input: { courseId, idempotencyKey: idem() } });
    const all = await events(courseId);
    expect(all.map((e) => e.type)).toEqual(['catalog.CoursePublished', 'catalog.CoursePublished', 'catalog.CourseUnpublished']);
    expect(all[1].payload.previousVersionId).toBe(first.payload.versionId);
    expect(JSON.stringify(all)).not.toContain('Eventful');
  });

  it('records nothing when publishing is refused or replayed', async () => {
    const org = organization();
    const created = await ok(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Empty', idempotencyKey: idem() } });
    const courseId = created.createCourse.course.id;
    const refused = await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(refused.publishCourse.errors[0].code).toBe('COURSE_HAS_NO_LESSONS');
    expect(await events(courseId)).toEqual([]);
    const { courseId: other } = await authorCourse(t, org.admin, 'Replayed');
    const key = idem();
    await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId: other, idempotencyKey: key } });
    await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId: other, idempotencyKey: key } });
    expect(await events(other)).toHaveLength(1);
  });
});
