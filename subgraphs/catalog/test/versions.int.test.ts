// Republishing must not break running offerings: an offering pins a course version, and
// learning refers to that version's lessons by id. Every version that was ever published
// (published, superseded, withdrawn) stays resolvable by id for readers: CourseVersion,
// Module and Lesson as entities (_entities, which the gateway's node(id:) uses too); drafts
// only for authors; another organization's never.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COURSE_STRUCTURE_PATH, courseStructureResponse } from '@lectern/contracts/catalog';
import { globalId, idOf } from '@lectern/kernel/ids';
import { serviceHeaders } from '@lectern/testkit';
import { MUTATIONS, authorCourse, ok, idem, organization, startTestCatalog, type Data, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
const org = organization();
const other = organization();

const ENTITIES = `query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Node { __typename id }
    ... on CourseVersion { number status title course { id } modules { id lessons { id } } }
    ... on Module { title lineageId version { id } course { id } lessons { id } }
    ... on Lesson { title lineageId version { id status } module { id } course { id } }
  }
}`;
const rep = (__typename: string, id: string) => ({ __typename, id });
const entities = async (who: typeof org.admin, reps: { __typename: string; id: string }[]): Promise<Data[]> =>
  (await ok(t, who, ENTITIES, { reps }))._entities;

const COURSE = `query($id: ID!) { course(id: $id) {
  publishedVersion { id number status }
  draftVersion { id modules { id lessons { id } } }
  modules { id lessons { id title lineageId } }
} }`;

/** v1: one module with "Keep" and "Drop"; v2: "Drop" removed, "New" added; then a v3 draft. */
let courseId: string;
let v1: { id: string; moduleId: string; keep: string; drop: string };
let v2: { id: string; moduleId: string; keep: string; added: string };
let v3: { id: string; moduleId: string; lessonId: string };
let lineage: Record<string, string>;

beforeAll(async () => {
  t = await startTestCatalog();
  const first = await authorCourse(t, org.admin, 'Forklift safety');
  courseId = first.courseId;
  const drop = await ok(t, org.admin, MUTATIONS.addLesson, { input: { moduleId: first.moduleId, title: 'Drop', kind: 'TEXT', body: 'Old rule.', idempotencyKey: idem() } });
  expect((await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } })).publishCourse.errors).toEqual([]);
  const published1 = (await ok(t, org.learner, COURSE, { id: courseId })).course;
  v1 = { id: published1.publishedVersion.id, moduleId: first.moduleId, keep: first.lessonId, drop: drop.addLesson.lesson.id };
  expect(published1.modules[0].lessons.map((l: { id: string }) => l.id)).toEqual([v1.keep, v1.drop]);

  // The second edition: ids of the published version are followed into the draft.
  await ok(t, org.admin, MUTATIONS.removeLesson, { input: { lessonId: v1.drop, idempotencyKey: idem() } });
  const added = await ok(t, org.admin, MUTATIONS.addLesson, { input: { moduleId: v1.moduleId, title: 'New', kind: 'TEXT', body: 'New rule.', idempotencyKey: idem() } });
  expect((await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } })).publishCourse.errors).toEqual([]);
  const published2 = (await ok(t, org.learner, COURSE, { id: courseId })).course;
  expect(published2.publishedVersion).toMatchObject({ number: 2, status: 'PUBLISHED' });
  const [keep2, added2] = published2.modules[0].lessons as { id: string; title: string; lineageId: string }[];
  v2 = { id: published2.publishedVersion.id, moduleId: published2.modules[0].id, keep: keep2!.id, added: added2!.id };
  expect(added2!.id).toBe(added.addLesson.lesson.id);
  expect(keep2!.title).toBe('Lesson one');

  // A third edition in progress (authors only).
  await ok(t, org.admin, MUTATIONS.updateCourse, { input: { courseId, title: 'Forklift safety (3rd edition)', idempotencyKey: idem() } });
  const draft = (await ok(t, org.admin, COURSE, { id: courseId })).course.draftVersion;
  v3 = { id: draft.id, moduleId: draft.modules[0].id, lessonId: draft.modules[0].lessons[0].id };

  const v1Lessons = await entities(org.admin, [rep('Lesson', v1.keep), rep('Lesson', v1.drop)]);
  lineage = { keep: v1Lessons[0].lineageId, drop: v1Lessons[1].lineageId, keep2: keep2!.lineageId, added: added2!.lineageId };
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('versions stay resolvable after a republish', () => {
  it('resolves the superseded version, its module and its lessons (also the one removed since) by id for learners', async () => {
    const [version, module, keep, drop] = await entities(org.learner, [
      rep('CourseVersion', v1.id),
      rep('Module', v1.moduleId),
      rep('Lesson', v1.keep),
      rep('Lesson', v1.drop),
    ]);
    expect(version).toEqual({
      __typename: 'CourseVersion',
      id: v1.id,
      number: 1,
      status: 'SUPERSEDED',
      title: 'Forklift safety',
      course: { id: courseId },
      modules: [{ id: v1.moduleId, lessons: [{ id: v1.keep }, { id: v1.drop }] }],
    });
    expect(module).toMatchObject({ __typename: 'Module', id: v1.moduleId, version: { id: v1.id }, course: { id: courseId }, lessons: [{ id: v1.keep }, { id: v1.drop }] });
    expect(keep).toMatchObject({ __typename: 'Lesson', id: v1.keep, title: 'Lesson one', version: { id: v1.id, status: 'SUPERSEDED' }, module: { id: v1.moduleId } });
    expect(drop).toMatchObject({ __typename: 'Lesson', id: v1.drop, title: 'Drop', version: { id: v1.id, status: 'SUPERSEDED' } });
    // The lookup query agrees.
    expect((await ok(t, org.learner, `query($id: ID!) { lesson(id: $id) { id } }`, { id: v1.drop })).lesson).toEqual({ id: v1.drop });
  });

  it('resolves the published version and its lessons too, and follows a lesson across versions by lineage', async () => {
    const [version, module, keep, added] = await entities(org.learner, [
      rep('CourseVersion', v2.id),
      rep('Module', v2.moduleId),
      rep('Lesson', v2.keep),
      rep('Lesson', v2.added),
    ]);
    expect(version).toMatchObject({ id: v2.id, number: 2, status: 'PUBLISHED', modules: [{ id: v2.moduleId, lessons: [{ id: v2.keep }, { id: v2.added }] }] });
    expect(module).toMatchObject({ id: v2.moduleId, version: { id: v2.id } });
    expect(keep).toMatchObject({ id: v2.keep, version: { id: v2.id, status: 'PUBLISHED' } });
    expect(added).toMatchObject({ id: v2.added, title: 'New' });
    expect(v2.keep).not.toBe(v1.keep);
    expect(lineage.keep2).toBe(lineage.keep);
    expect(new Set([lineage.keep, lineage.drop, lineage.added]).size).toBe(3);
  });

  it('keeps withdrawn versions resolvable once the course is unpublished (offerings may still run them)', async () => {
    const { courseId: c } = await authorCourse(t, org.admin, 'Withdrawn course', { publish: true });
    const course = (await ok(t, org.learner, COURSE, { id: c })).course;
    await ok(t, org.admin, MUTATIONS.unpublishCourse, { input: { courseId: c, idempotencyKey: idem() } });
    const [version, lesson] = await entities(org.learner, [rep('CourseVersion', course.publishedVersion.id), rep('Lesson', course.modules[0].lessons[0].id)]);
    expect(version).toMatchObject({ id: course.publishedVersion.id, status: 'WITHDRAWN' });
    expect(lesson).toMatchObject({ id: course.modules[0].lessons[0].id, version: { status: 'WITHDRAWN' } });
  });

  it('shows drafts only to authors, and nothing to another organization', async () => {
    const draftReps = [rep('CourseVersion', v3.id), rep('Module', v3.moduleId), rep('Lesson', v3.lessonId)];
    for (const reader of [org.learner, org.support, org.readKey]) expect(await entities(reader, draftReps)).toEqual([null, null, null]);
    expect((await entities(org.instructor, draftReps)).map((e) => e?.id)).toEqual([v3.id, v3.moduleId, v3.lessonId]);
    const all = [rep('CourseVersion', v1.id), rep('Module', v1.moduleId), rep('Lesson', v1.keep), rep('CourseVersion', v2.id), ...draftReps];
    expect(await entities(other.admin, all)).toEqual(all.map(() => null));
    // Ids of another type, plain UUIDs and garbage name nothing.
    const wrong = [rep('Lesson', v1.id), rep('CourseVersion', idOf(v1.id, 'CourseVersion')!), rep('Module', globalId('Lesson', idOf(v1.keep, 'Lesson')!)), rep('Lesson', 'x')];
    expect(await entities(org.admin, wrong)).toEqual([null, null, null, null]);
  });

  it('answers both published versions on the internal structure endpoint, with lineage for carrying progress over', async () => {
    const versionIds = [idOf(v1.id, 'CourseVersion')!, idOf(v2.id, 'CourseVersion')!, idOf(v3.id, 'CourseVersion')!];
    const res = await fetch(new URL(COURSE_STRUCTURE_PATH, t.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...serviceHeaders('learning', 'catalog', org.tenantId) },
      body: JSON.stringify({ tenantId: org.tenantId, versionIds }),
    });
    expect(res.status).toBe(200);
    const { versions } = courseStructureResponse.parse(await res.json());
    const byId = new Map(versions.map((v) => [v.versionId, v]));
    expect([...byId.keys()].sort()).toEqual(versionIds.slice(0, 2).sort()); // never the draft
    const first = byId.get(versionIds[0]!)!;
    const second = byId.get(versionIds[1]!)!;
    expect(first).toMatchObject({ number: 1, status: 'SUPERSEDED' });
    expect(first.lessons.map((l) => l.lessonId)).toEqual([idOf(v1.keep, 'Lesson'), idOf(v1.drop, 'Lesson')]);
    expect(second.lessons.map((l) => l.lessonId)).toEqual([idOf(v2.keep, 'Lesson'), idOf(v2.added, 'Lesson')]);
    // The kept lesson's copies share a lineage; the removed and the added ones have their own.
    expect(second.lessons[0]!.lineageId).toBe(first.lessons[0]!.lineageId);
    expect(new Set([first.lessons[0]!.lineageId, first.lessons[1]!.lineageId, second.lessons[1]!.lineageId]).size).toBe(3);
  });
});
