// Authoring and versioning as instructors, admins and learners experience them (the people
// are identity's members: who may author is identity's answer).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '@lectern/kernel/ids';
import { MUTATIONS, authorCourse, call, errorCode, gid, idem, ok, seededOrganization, startTestCatalog, type Organization, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
let org: Organization;

beforeAll(async () => {
  t = await startTestCatalog({ identity: true });
  org = await seededOrganization(t, 'authoring');
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const COURSE = `query($id: ID!) {
  course(id: $id) {
    id title description status
    modules { id lineageId title position lessons { id lineageId title kind body position } }
    publishedVersion { id number status title }
    draftVersion { id number status title modules { title lessons { title } } }
  }
}`;

describe('versioning', () => {
  it('keeps the published version live while the next is drafted, and swaps them on publish', async () => {
    const { courseId, moduleId, lessonId } = await authorCourse(t, org.instructor, 'Fire Safety', { publish: true, description: 'First edition' });

    // Edit the published course: title, a lesson (by its published id) and a new module.
    await ok(t, org.instructor, MUTATIONS.updateCourse, { input: { courseId, title: 'Fire Safety (2nd edition)', idempotencyKey: idem() } });
    const edited = await ok(t, org.instructor, MUTATIONS.updateLesson, { input: { lessonId, body: 'Updated text.', idempotencyKey: idem() } });
    const draftLesson = edited.updateLesson.lesson;
    expect(draftLesson.id).not.toBe(lessonId); // the draft's copy
    const added = await ok(t, org.instructor, MUTATIONS.addModule, { input: { courseId, title: 'Extinguishers', idempotencyKey: idem() } });
    expect(added.addModule.module.position).toBe(1);

    // Learners still see the first edition, exactly as published.
    const learnerView = (await ok(t, org.learner, COURSE, { id: courseId })).course;
    expect(learnerView).toMatchObject({ title: 'Fire Safety', description: 'First edition', status: 'PUBLISHED', draftVersion: null });
    expect(learnerView.modules).toHaveLength(1);
    expect(learnerView.modules[0]).toMatchObject({ id: moduleId, lessons: [{ id: lessonId, body: 'Read this.' }] });
    expect((await ok(t, org.learner, `query($id: ID!) { lesson(id: $id) { id } }`, { id: draftLesson.id })).lesson).toBeNull();
    expect((await ok(t, org.learner, `query($id: ID!) { lesson(id: $id) { body } }`, { id: lessonId })).lesson).toEqual({ body: 'Read this.' });

    // Authors see the draft, and both versions explicitly; copies keep their lineage.
    const authorView = (await ok(t, org.instructor, COURSE, { id: courseId })).course;
    expect(authorView.title).toBe('Fire Safety (2nd edition)');
    expect(authorView.publishedVersion).toMatchObject({ number: 1, status: 'PUBLISHED', title: 'Fire Safety' });
    expect(authorView.draftVersion).toMatchObject({ number: 2, status: 'DRAFT', title: 'Fire Safety (2nd edition)' });
    expect(authorView.modules.map((m: { title: string }) => m.title)).toEqual(['Module one', 'Extinguishers']);
    expect(authorView.modules[0].id).not.toBe(moduleId); // the draft's copy
    expect(authorView.modules[0].lineageId).toBe(learnerView.modules[0].lineageId);
    expect(authorView.modules[0].lessons[0]).toMatchObject({ id: draftLesson.id, lineageId: learnerView.modules[0].lessons[0].lineageId, body: 'Updated text.' });
    expect(draftLesson.lineageId).toBe(learnerView.modules[0].lessons[0].lineageId);

    // The draft has an empty module: publishing it is refused with a typed error, nothing changes.
    const refused = await ok(t, org.instructor, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(refused.publishCourse.errors.map((e: { code: string }) => e.code)).toEqual(['MODULE_HAS_NO_LESSONS']);
    expect((await ok(t, org.learner, COURSE, { id: courseId })).course.title).toBe('Fire Safety');

    await ok(t, org.instructor, MUTATIONS.removeModule, { input: { moduleId: added.addModule.module.id, idempotencyKey: idem() } });
    const published = await ok(t, org.instructor, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(published.publishCourse).toMatchObject({ errors: [], course: { status: 'PUBLISHED' } });

    const after = (await ok(t, org.learner, COURSE, { id: courseId })).course;
    expect(after).toMatchObject({ title: 'Fire Safety (2nd edition)', publishedVersion: { number: 2, status: 'PUBLISHED' } });
    expect(after.modules[0].lessons[0]).toMatchObject({ id: draftLesson.id, body: 'Updated text.' });
    // The first edition's lessons are no longer in the course learners see, but still resolve
    // by id: offerings that pinned the first edition keep running it.
    expect(after.modules[0].lessons.map((l: { id: string }) => l.id)).not.toContain(lessonId);
    expect((await ok(t, org.learner, `query($id: ID!) { lesson(id: $id) { id body } }`, { id: lessonId })).lesson).toEqual({ id: lessonId, body: 'Read this.' });
    const again = await ok(t, org.instructor, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(again.publishCourse.errors.map((e: { code: string }) => e.code)).toEqual(['ALREADY_PUBLISHED']);
  });

  it('refuses to publish a course without lessons (typed error)', async () => {
    const created = await ok(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Empty', idempotencyKey: idem() } });
    const r = await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId: created.createCourse.course.id, idempotencyKey: idem() } });
    expect(r.publishCourse).toMatchObject({ course: { status: 'DRAFT' }, errors: [{ code: 'COURSE_HAS_NO_LESSONS' }] });
  });

  it('unpublishes and republishes without a draft', async () => {
    const { courseId } = await authorCourse(t, org.admin, 'Republishable', { publish: true });
    const un = await ok(t, org.admin, MUTATIONS.unpublishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(un.unpublishCourse).toMatchObject({ course: { status: 'UNPUBLISHED' }, errors: [] });
    expect((await ok(t, org.learner, COURSE, { id: courseId })).course).toBeNull();
    const twice = await ok(t, org.admin, MUTATIONS.unpublishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(twice.unpublishCourse.errors[0].code).toBe('NOT_PUBLISHED');
    const re = await ok(t, org.admin, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    expect(re.publishCourse).toMatchObject({ course: { status: 'PUBLISHED' }, errors: [] });
    expect((await ok(t, org.learner, COURSE, { id: courseId })).course.publishedVersion).toMatchObject({ number: 1, status: 'PUBLISHED' });
  });
});

describe('concurrent authoring', () => {
  it('serialises concurrent edits of one course: one draft, dense positions, nothing lost', async () => {
    const { courseId } = await authorCourse(t, org.admin, 'Busy course', { publish: true });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(t, org.admin, MUTATIONS.addModule, { input: { courseId, title: `Parallel ${i}`, idempotencyKey: idem() } })),
    );
    expect(results.map((r) => r.errors)).toEqual(results.map(() => undefined));
    const course = (await ok(t, org.admin, COURSE, { id: courseId })).course;
    expect(course.draftVersion.number).toBe(2);
    expect(course.modules.map((m: { position: number }) => m.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(course.modules.map((m: { title: string }) => m.title)).size).toBe(9);
    expect((await ok(t, org.learner, COURSE, { id: courseId })).course.modules).toHaveLength(1);
  });
});

describe('who sees what', () => {
  it('shows learners, support staff and read-only API keys published content only', async () => {
    const draftOnly = await authorCourse(t, org.admin, 'Draft only course');
    const live = await authorCourse(t, org.admin, 'Live course', { publish: true });
    for (const reader of [org.learner, org.support, org.readKey]) {
      const r = await ok(t, reader, `query($a: ID!, $b: ID!, $l: ID!) {
        draft: course(id: $a) { id } live: course(id: $b) { id draftVersion { id } } lesson(id: $l) { id }
        courses(first: 100) { nodes { id status } }
      }`, { a: draftOnly.courseId, b: live.courseId, l: draftOnly.lessonId });
      expect(r.draft).toBeNull();
      expect(r.lesson).toBeNull();
      expect(r.live).toEqual({ id: live.courseId, draftVersion: null });
      expect(r.courses.nodes.every((n: { status: string }) => n.status === 'PUBLISHED')).toBe(true);
      expect(r.courses.nodes.map((n: { id: string }) => n.id)).not.toContain(draftOnly.courseId);
    }
    const authors = await ok(t, org.otherInstructor, `query($a: ID!) { course(id: $a) { id status } }`, { a: draftOnly.courseId });
    expect(authors.course).toEqual({ id: draftOnly.courseId, status: 'DRAFT' });
  });

  it('answers FORBIDDEN to learners, support staff and read-only keys calling any mutation', async () => {
    const { courseId, moduleId } = await authorCourse(t, org.admin, 'Guarded course');
    const attempts: [string, Record<string, unknown>][] = [
      [MUTATIONS.createCourse, { title: 'Nope' }],
      [MUTATIONS.updateCourse, { courseId, title: 'Nope' }],
      [MUTATIONS.addModule, { courseId, title: 'Nope' }],
      [MUTATIONS.addLesson, { moduleId, title: 'Nope', kind: 'TEXT', body: 'x' }],
      [MUTATIONS.publishCourse, { courseId }],
    ];
    for (const who of [org.learner, org.support, org.readKey]) {
      for (const [mutation, input] of attempts) {
        const r = await call(t, who, mutation, { input: { ...input, idempotencyKey: idem() } });
        expect(errorCode(r)).toBe('FORBIDDEN');
      }
    }
    expect((await ok(t, org.admin, COURSE, { id: courseId })).course.title).toBe('Guarded course');
  });

  it('lets an instructor edit only the courses they author; ORG_ADMIN and catalog:write keys edit all', async () => {
    const { courseId } = await authorCourse(t, org.instructor, 'Mine');
    const denied = await call(t, org.otherInstructor, MUTATIONS.updateCourse, { input: { courseId, title: 'Theirs', idempotencyKey: idem() } });
    expect(errorCode(denied)).toBe('FORBIDDEN');
    const added = await ok(t, org.instructor, MUTATIONS.addCourseAuthor, { input: { courseId, userId: gid.user(org.otherInstructor.userId!), idempotencyKey: idem() } });
    expect(added.addCourseAuthor.errors).toEqual([]);
    await ok(t, org.otherInstructor, MUTATIONS.updateCourse, { input: { courseId, title: 'Ours', idempotencyKey: idem() } });
    await ok(t, org.admin, MUTATIONS.updateCourse, { input: { courseId, description: 'By the admin', idempotencyKey: idem() } });
    await ok(t, org.writeKey, MUTATIONS.updateCourse, { input: { courseId, slug: 'ours-by-key', idempotencyKey: idem() } });
    const course = (await ok(t, org.admin, `query($id: ID!) { course(id: $id) { title description slug authors { id } } }`, { id: courseId })).course;
    expect(course).toMatchObject({ title: 'Ours', description: 'By the admin', slug: 'ours-by-key' });
    expect(course.authors.map((a: { id: string }) => a.id).sort()).toEqual([gid.user(org.instructor.userId!), gid.user(org.otherInstructor.userId!)].sort());
  });
});

describe('content', () => {
  it('validates lessons by kind: https only for EXTERNAL, the kind’s field required, others refused', async () => {
    const { moduleId } = await authorCourse(t, org.admin, 'Kinds');
    const add = (input: Record<string, unknown>) => call(t, org.admin, MUTATIONS.addLesson, { input: { moduleId, title: 'L', idempotencyKey: idem(), ...input } });
    for (const bad of [
      { kind: 'EXTERNAL', externalUrl: 'http://example.org' },
      { kind: 'EXTERNAL', externalUrl: 'javascript:alert(1)' },
      { kind: 'EXTERNAL', externalUrl: 'https://user:pw@example.org' },
      { kind: 'VIDEO' },
      { kind: 'QUIZ', quizId: 'not-an-id' },
      { kind: 'QUIZ', quizId: randomUUID() }, // a plain UUID is not a Quiz id
      { kind: 'VIDEO', videoId: globalId('Quiz', randomUUID()) }, // another type's id
      { kind: 'TEXT', body: 'x', externalUrl: 'https://example.org' },
    ]) {
      const r = await add(bad);
      expect(errorCode(r), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
    }
    // Errors name the input fields as the API has them.
    expect((await add({ kind: 'VIDEO' })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'videoId' });
    expect((await add({ kind: 'TEXT', body: 'x', videoId: globalId('VideoAsset', randomUUID()) })).errors?.[0]?.extensions).toMatchObject({ field: 'videoId' });
    const good = await add({ kind: 'EXTERNAL', externalUrl: 'https://example.org/a?b=c' });
    expect(good.data?.addLesson.lesson).toMatchObject({ kind: 'EXTERNAL', position: 1 });
    const videoId = globalId('VideoAsset', t.media.put(org.tenantId, '6f1c2a1e-8c1b-4a5f-9d1e-2b3c4d5e6f70'));
    const videoLesson = await add({ kind: 'VIDEO', videoId, durationSeconds: 90, position: 0 });
    expect(videoLesson.data?.addLesson.lesson).toMatchObject({ kind: 'VIDEO', position: 0 });
    const quizId = globalId('Quiz', randomUUID());
    const quizLesson = await add({ kind: 'QUIZ', quizId });
    // Links, not bare ids: the lesson answers references carrying the global ids it was given.
    const links = await ok(t, org.admin, `query($v: ID!, $q: ID!) { v: lesson(id: $v) { video { __typename id } quiz { id } } q: lesson(id: $q) { video { id } quiz { __typename id } } }`, {
      v: videoLesson.data?.addLesson.lesson.id,
      q: quizLesson.data?.addLesson.lesson.id,
    });
    expect(links).toEqual({ v: { video: { __typename: 'VideoAsset', id: videoId }, quiz: null }, q: { video: null, quiz: { __typename: 'Quiz', id: quizId } } });
    const otherVideo = globalId('VideoAsset', t.media.put(org.tenantId, randomUUID(), { status: 'PROCESSING', durationSeconds: null }));
    const updated = await ok(t, org.admin, `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { lesson { video { id } } errors { code } } }`, {
      input: { lessonId: videoLesson.data?.addLesson.lesson.id, videoId: otherVideo, idempotencyKey: idem() },
    });
    expect(updated.updateLesson).toEqual({ lesson: { video: { id: otherVideo } }, errors: [] });
  });

  it('moves lessons between modules and keeps positions dense', async () => {
    const { courseId, moduleId, lessonId } = await authorCourse(t, org.admin, 'Mover');
    const second = await ok(t, org.admin, MUTATIONS.addModule, { input: { courseId, title: 'Two', idempotencyKey: idem() } });
    const secondId = second.addModule.module.id;
    await ok(t, org.admin, MUTATIONS.addLesson, { input: { moduleId: secondId, title: 'B1', kind: 'TEXT', body: 'x', idempotencyKey: idem() } });
    const moved = await ok(t, org.admin, MUTATIONS.moveLesson, { input: { lessonId, moduleId: secondId, position: 0, idempotencyKey: idem() } });
    expect(moved.moveLesson.lesson).toMatchObject({ id: lessonId, position: 0, module: { id: secondId } });
    const course = (await ok(t, org.admin, COURSE, { id: courseId })).course;
    expect(course.modules.map((m: { title: string; lessons: { title: string; position: number }[] }) => [m.title, m.lessons.map((l) => `${l.position}:${l.title}`)])).toEqual([
      ['Module one', []],
      ['Two', ['0:Lesson one', '1:B1']],
    ]);
    await ok(t, org.admin, MUTATIONS.updateModule, { input: { moduleId: secondId, position: 0, idempotencyKey: idem() } });
    await ok(t, org.admin, MUTATIONS.removeModule, { input: { moduleId, idempotencyKey: idem() } });
    const after = (await ok(t, org.admin, COURSE, { id: courseId })).course;
    expect(after.modules.map((m: { title: string; position: number }) => `${m.position}:${m.title}`)).toEqual(['0:Two']);
    const removed = await ok(t, org.admin, MUTATIONS.removeLesson, { input: { lessonId, idempotencyKey: idem() } });
    expect(removed.removeLesson.removedLessonId).toBe(lessonId);
  });

  it('reports a taken slug as a typed error', async () => {
    await ok(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Slugged', slug: 'slugged', idempotencyKey: idem() } });
    const r = await ok(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Slugged again', slug: 'slugged', idempotencyKey: idem() } });
    expect(r.createCourse).toMatchObject({ course: null, errors: [{ code: 'SLUG_TAKEN', path: ['input', 'slug'] }] });
    const derived = await ok(t, org.admin, MUTATIONS.createCourse, { input: { title: 'Slugged', idempotencyKey: idem() } });
    expect(derived.createCourse.course.slug).toBe('slugged-2');
    const bySlug = await ok(t, org.admin, `{ courseBySlug(slug: "slugged-2") { id } }`);
    expect(bySlug.courseBySlug.id).toBe(derived.createCourse.course.id);
  });
});

describe('prerequisites', () => {
  it('refuses self-references and cycles through other courses, and shows learners published prerequisites only', async () => {
    const a = await authorCourse(t, org.admin, 'Prereq A', { publish: true });
    const b = await authorCourse(t, org.admin, 'Prereq B', { publish: true });
    const c = await authorCourse(t, org.admin, 'Prereq C');
    const link = (courseId: string, prerequisiteCourseId: string) =>
      ok(t, org.admin, MUTATIONS.addCoursePrerequisite, { input: { courseId, prerequisiteCourseId, idempotencyKey: idem() } });
    expect((await link(a.courseId, b.courseId)).addCoursePrerequisite.errors).toEqual([]); // A requires B
    expect((await link(b.courseId, c.courseId)).addCoursePrerequisite.errors).toEqual([]); // B requires C
    expect((await link(c.courseId, a.courseId)).addCoursePrerequisite.errors).toEqual([{ code: 'PREREQUISITE_CYCLE', path: ['input', 'prerequisiteCourseId'] }]);
    expect((await link(a.courseId, a.courseId)).addCoursePrerequisite.errors).toEqual([{ code: 'PREREQUISITE_CYCLE', path: ['input', 'prerequisiteCourseId'] }]);
    expect((await link(a.courseId, b.courseId)).addCoursePrerequisite.course.prerequisites).toEqual([{ id: b.courseId }]); // no duplicate

    const seen = await ok(t, org.learner, `query($a: ID!, $b: ID!) { a: course(id: $a) { prerequisites { id } } b: course(id: $b) { prerequisites { id } } }`, {
      a: a.courseId,
      b: b.courseId,
    });
    expect(seen).toEqual({ a: { prerequisites: [{ id: b.courseId }] }, b: { prerequisites: [] } }); // C is a draft
  });

  it('lets only one of two concurrent edits that together would close a cycle through', async () => {
    const x = await authorCourse(t, org.admin, 'Race X');
    const y = await authorCourse(t, org.admin, 'Race Y');
    const [xy, yx] = await Promise.all([
      ok(t, org.admin, MUTATIONS.addCoursePrerequisite, { input: { courseId: x.courseId, prerequisiteCourseId: y.courseId, idempotencyKey: idem() } }),
      ok(t, org.admin, MUTATIONS.addCoursePrerequisite, { input: { courseId: y.courseId, prerequisiteCourseId: x.courseId, idempotencyKey: idem() } }),
    ]);
    const codes = [xy.addCoursePrerequisite.errors, yx.addCoursePrerequisite.errors].map((e: { code: string }[]) => e[0]?.code ?? 'OK').sort();
    expect(codes).toEqual(['OK', 'PREREQUISITE_CYCLE']);
  });
});
