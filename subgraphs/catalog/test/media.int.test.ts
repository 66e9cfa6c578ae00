// catalog's link to media: a VIDEO lesson's video must exist in the organization's library, a
// course publishes only when every VIDEO lesson's video is READY (and each lesson then takes its
// video's duration, which the structure endpoint tells learning and media), and media being down
// blocks only what needs it. media is a stub here (test/media-stub.ts) whose library each test fills.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceHeaders } from '@lectern/testkit';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { idOf } from '@lectern/kernel/ids';
import { COURSE_STRUCTURE_PATH, courseStructureResponse } from '@lectern/contracts/catalog';
import { loadEnv, startCatalog, type CatalogEnv } from '../src/server.ts';
import { MUTATIONS, UNREACHABLE_MEDIA, call, errorCode, gid, idem, ok, organization, startTestCatalog, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
const org = organization();
const other = organization();

beforeAll(async () => {
  t = await startTestCatalog();
});
afterAll(async () => {
  await t?.close();
});

const LESSON = `query($id: ID!) { lesson(id: $id) { durationSeconds video { id } } }`;
const COURSE = `query($id: ID!) { course(id: $id) { status publishedVersion { id } } }`;

/** A draft course with one module; returns its ids. */
async function draftCourse(title: string, target: { url: string } = t) {
  const created = await ok(target, org.admin, MUTATIONS.createCourse, { input: { title, idempotencyKey: idem() } });
  const courseId: string = created.createCourse.course.id;
  const mod = await ok(target, org.admin, MUTATIONS.addModule, { input: { courseId, title: 'Module', idempotencyKey: idem() } });
  return { courseId, moduleId: mod.addModule.module.id as string };
}

/** Adds a VIDEO lesson through the API (the video must be in the stub's library); returns the lesson's id. */
async function addVideoLesson(moduleId: string, title: string, videoId: string, target: { url: string } = t): Promise<string> {
  const r = await ok(target, org.admin, MUTATIONS.addLesson, { input: { moduleId, title, kind: 'VIDEO', videoId: gid.video(videoId), durationSeconds: 30, idempotencyKey: idem() } });
  expect(r.addLesson.errors).toEqual([]);
  return r.addLesson.lesson.id;
}

const publish = (courseId: string, target: { url: string } = t, idempotencyKey = idem()) =>
  call(target, org.admin, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey } });

describe('a lesson’s video', () => {
  it('must exist in the organization’s library (any status) when a lesson is added or changed', async () => {
    const { moduleId } = await draftCourse('Video checks');
    const unknown = await call(t, org.admin, MUTATIONS.addLesson, { input: { moduleId, title: 'V', kind: 'VIDEO', videoId: gid.video(randomUUID()), idempotencyKey: idem() } });
    expect(errorCode(unknown)).toBe('BAD_USER_INPUT');
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ field: 'videoId' });
    expect(unknown.errors?.[0]?.message).toBe('No video with this id in your organization');

    // Another organization's video is as unknown as a made-up one.
    const theirs = t.media.put(other.tenantId, randomUUID());
    const foreign = await call(t, org.admin, MUTATIONS.addLesson, { input: { moduleId, title: 'V', kind: 'VIDEO', videoId: gid.video(theirs), idempotencyKey: idem() } });
    expect(foreign.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'videoId' });

    // A video still processing is fine for a draft.
    const processing = t.media.put(org.tenantId, randomUUID(), { status: 'PROCESSING', durationSeconds: null });
    const lessonId = await addVideoLesson(moduleId, 'V', processing);
    expect((await ok(t, org.admin, LESSON, { id: lessonId })).lesson.video).toEqual({ id: gid.video(processing) });

    const update = (videoId: string) =>
      call(t, org.admin, `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { lesson { video { id } } errors { code } } }`, {
        input: { lessonId, videoId: gid.video(videoId), idempotencyKey: idem() },
      });
    const bad = await update(randomUUID());
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'videoId' });
    const good = t.media.put(org.tenantId, randomUUID(), { status: 'UPLOADING', durationSeconds: null });
    expect((await update(good)).data?.updateLesson).toEqual({ lesson: { video: { id: gid.video(good) } }, errors: [] });
  });
});

describe('publishing a course with VIDEO lessons', () => {
  it('is refused, one VIDEO_NOT_READY per lesson, while videos are not READY; nothing is published', async () => {
    const { courseId, moduleId } = await draftCourse('Not ready');
    await ok(t, org.admin, MUTATIONS.addLesson, { input: { moduleId, title: 'Read first', kind: 'TEXT', body: 'x', idempotencyKey: idem() } });
    const processing = t.media.put(org.tenantId, randomUUID(), { status: 'PROCESSING', durationSeconds: null });
    const failed = t.media.put(org.tenantId, randomUUID(), { status: 'FAILED', durationSeconds: null, failureReason: 'the file is not a video' });
    await addVideoLesson(moduleId, 'Intro', processing);
    await addVideoLesson(moduleId, 'Outro', failed);

    const r = await publish(courseId);
    expect(r.errors).toBeUndefined();
    expect(r.data?.publishCourse.errors).toEqual([
      { code: 'VIDEO_NOT_READY', message: 'Lesson "Intro": its video is PROCESSING', path: null },
      { code: 'VIDEO_NOT_READY', message: 'Lesson "Outro": its video is FAILED: the file is not a video', path: null },
    ]);
    expect((await ok(t, org.admin, COURSE, { id: courseId })).course).toEqual({ status: 'DRAFT', publishedVersion: null });

    // A video deleted from the library since the lesson was added.
    t.media.put(org.tenantId, processing, { status: 'READY', durationSeconds: 10 });
    t.media.remove(failed);
    const gone = await publish(courseId);
    expect(gone.data?.publishCourse.errors).toEqual([{ code: 'VIDEO_NOT_READY', message: 'Lesson "Outro": its video no longer exists', path: null }]);
    expect((await ok(t, org.admin, COURSE, { id: courseId })).course.status).toBe('DRAFT');
  });

  it('publishes once all are READY, each lesson taking its video’s duration (rounded up), shown to learning and media', async () => {
    const { courseId, moduleId } = await draftCourse('All ready');
    const video = t.media.put(org.tenantId, randomUUID(), { status: 'PROCESSING', durationSeconds: null });
    const lessonId = await addVideoLesson(moduleId, 'Watch', video);
    expect((await publish(courseId)).data?.publishCourse.errors.map((e: { code: string }) => e.code)).toEqual(['VIDEO_NOT_READY']);

    t.media.put(org.tenantId, video, { status: 'READY', durationSeconds: 61.2 });
    const r = await publish(courseId);
    expect(r.data?.publishCourse).toMatchObject({ errors: [], course: { status: 'PUBLISHED' } });
    expect((await ok(t, org.admin, LESSON, { id: lessonId })).lesson.durationSeconds).toBe(62);

    // The structure endpoint, asked as media (which reads published versions' videos there).
    const versionId = idOf((await ok(t, org.admin, COURSE, { id: courseId })).course.publishedVersion.id, 'CourseVersion')!;
    const res = await fetch(new URL(COURSE_STRUCTURE_PATH, t.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...serviceHeaders('media', 'catalog', org.tenantId) },
      body: JSON.stringify({ tenantId: org.tenantId, versionIds: [versionId] }),
    });
    expect(res.status).toBe(200);
    const { versions } = courseStructureResponse.parse(await res.json());
    expect(versions[0]!.lessons).toEqual([expect.objectContaining({ lessonId: idOf(lessonId, 'Lesson'), kind: 'VIDEO', durationSeconds: 62, videoAssetId: video, quizId: null })]);
  });

  it('never asks media for a version without VIDEO lessons', async () => {
    const { courseId, moduleId } = await draftCourse('Text only');
    await ok(t, org.admin, MUTATIONS.addLesson, { input: { moduleId, title: 'Read', kind: 'TEXT', body: 'x', idempotencyKey: idem() } });
    const asked = t.media.requests.length;
    expect((await publish(courseId)).data?.publishCourse).toMatchObject({ errors: [], course: { status: 'PUBLISHED' } });
    expect(t.media.requests.length).toBe(asked);
  });
});

describe('media down', () => {
  let down: RunningSubgraph<CatalogEnv>;
  beforeAll(async () => {
    // A second catalog on the same database, whose media does not answer.
    down = await startCatalog(loadEnv({ ...t.db.env, MEDIA_URL: UNREACHABLE_MEDIA }));
  });
  afterAll(async () => {
    await down?.close();
  });

  it('makes publishing a video course SERVICE_UNAVAILABLE within seconds, while a course without videos still publishes', async () => {
    const { courseId, moduleId } = await draftCourse('Video while down');
    await addVideoLesson(moduleId, 'Watch', t.media.put(org.tenantId, randomUUID()));
    const started = Date.now();
    const r = await publish(courseId, down);
    expect(errorCode(r)).toBe('SERVICE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await ok(t, org.admin, COURSE, { id: courseId })).course.status).toBe('DRAFT');

    // Adding a video lesson needs media too; a text course does not.
    const added = await call(down, org.admin, MUTATIONS.addLesson, { input: { moduleId, title: 'V2', kind: 'VIDEO', videoId: gid.video(randomUUID()), idempotencyKey: idem() } });
    expect(errorCode(added)).toBe('SERVICE_UNAVAILABLE');
    const text = await draftCourse('Text while down', down);
    await ok(down, org.admin, MUTATIONS.addLesson, { input: { moduleId: text.moduleId, title: 'Read', kind: 'TEXT', body: 'x', idempotencyKey: idem() } });
    expect((await publish(text.courseId, down)).data?.publishCourse).toMatchObject({ errors: [], course: { status: 'PUBLISHED' } });
  });

  it('still replays a result stored while media was up, and needs no media for an already published course', async () => {
    const { courseId, moduleId } = await draftCourse('Replayed');
    const video = t.media.put(org.tenantId, randomUUID(), { status: 'PROCESSING', durationSeconds: null });
    await addVideoLesson(moduleId, 'Watch', video);
    const key = idem();
    const refused = [{ code: 'VIDEO_NOT_READY', message: 'Lesson "Watch": its video is PROCESSING', path: null }];
    expect((await publish(courseId, t, key)).data?.publishCourse.errors).toEqual(refused);
    // The replay runs nothing, so it does not need media's answer.
    const replay = await publish(courseId, down, key);
    expect(replay.errors).toBeUndefined();
    expect(replay.data?.publishCourse).toMatchObject({ errors: refused, course: { id: courseId, status: 'DRAFT' } });

    t.media.put(org.tenantId, video, { status: 'READY', durationSeconds: 30 });
    expect((await publish(courseId)).data?.publishCourse.errors).toEqual([]);
    const again = await publish(courseId, down);
    expect(again.errors).toBeUndefined();
    expect(again.data?.publishCourse.errors.map((e: { code: string }) => e.code)).toEqual(['ALREADY_PUBLISHED']);
  });
});
