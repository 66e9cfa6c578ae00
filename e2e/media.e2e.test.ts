// Media through the gateway with every worker running: an author uploads a video with the tus
// reference client to the URL the graph hands out, follows its transcode on the
// videoAssetUpdated subscription (graphql-ws through the gateway) to READY, and the course
// whose VIDEO lesson names it cannot be published before then; once published, the lesson's
// duration is the video's and a learner gets signed playback through `Lesson.video`, which
// another organization never sees.
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '@lectern/kernel/ids';
import { gql, idem, subscribeGateway, until } from '@lectern/testkit';
import { accessTokenFor, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { makeTestVideo } from '@lectern/media/testing';
import { okAs, startStack, type Stack } from './src/harness.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Data = any;

let stack: Stack;
let A: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
let B: Awaited<ReturnType<typeof seedOrganizationWithPeople>>;
const t = { admin: '', learner: '', bAdmin: '' };
let courseId = '';
let moduleId = '';
let videoId = '';
let file: Buffer;

const ok = (token: string, query: string, variables: Record<string, unknown> = {}): Promise<Data> => okAs(stack.url, token, query, variables);

beforeAll(async () => {
  stack = await startStack('media', {}, { workers: true, catalogRelay: true, media: { MEDIA_SWEEP_INTERVAL_MS: '500' } });
  A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme-media');
  B = await seedOrganizationWithPeople(stack.identity.deps.orm, 'globex-media');
  const orm = stack.identity.deps.orm;
  t.admin = await accessTokenFor(orm, A.admin, A.org);
  t.learner = await accessTokenFor(orm, A.learner, A.org);
  t.bAdmin = await accessTokenFor(orm, B.admin, B.org);
  const course = await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorId: A.admin.id, title: 'Forklift basics', modules: [{ title: 'Start', lessons: [{ title: 'Read me', kind: 'TEXT' }] }] });
  courseId = globalId('Course', course.id);
  moduleId = globalId('Module', course.modules[0]!.id);
  const path = join(tmpdir(), `lectern-e2e-clip-${randomUUID()}.mp4`);
  await makeTestVideo({ path, seconds: 7, width: 640, height: 360, audio: true });
  file = await readFile(path);
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('a video lesson, end to end', () => {
  it('uploads with tus, streams processing to READY over the subscription; publishing waits for READY and takes its duration', { timeout: 120_000 }, async () => {
    const created = await ok(t.admin, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id status } upload { url length } errors { code } } }`, {
      i: { title: 'Walkaround', filename: 'walkaround.mp4', sizeBytes: file.length, idempotencyKey: idem() },
    });
    videoId = created.createVideoUpload.videoAsset.id;
    const lesson = await ok(t.admin, `mutation($i: AddLessonInput!) { addLesson(input: $i) { lesson { id video { id status } } errors { code } } }`, {
      i: { moduleId, title: 'Walkaround video', kind: 'VIDEO', videoId, idempotencyKey: idem() },
    });
    expect(lesson.addLesson.lesson.video).toEqual({ id: videoId, status: 'UPLOADING' });
    const early = await ok(t.admin, `mutation($i: PublishCourseInput!) { publishCourse(input: $i) { errors { code message } } }`, { i: { courseId, idempotencyKey: idem() } });
    expect(early.publishCourse.errors).toEqual([{ code: 'VIDEO_NOT_READY', message: expect.stringContaining('UPLOADING') }]);

    const sub = await subscribeGateway(stack.url, t.admin, `subscription($id: ID!) { videoAssetUpdated(id: $id) { id status processing { percent } durationSeconds } }`, { id: videoId });
    try {
      await new Promise<void>((resolve, reject) => {
        new tus.Upload(file, { uploadUrl: created.createVideoUpload.upload.url, chunkSize: Math.ceil(file.length / 3), retryDelays: [], onSuccess: () => resolve(), onError: reject }).start();
      });
      const seen: Data[] = [];
      while (!seen.some((e) => e.status === 'READY')) {
        const r = await sub.next(60_000);
        expect(r.errors).toBeUndefined();
        seen.push(r.data!.videoAssetUpdated);
      }
      const percents = seen.map((e) => e.processing.percent);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      expect(seen.at(-1)).toMatchObject({ id: videoId, status: 'READY', processing: { percent: 100 } });
    } finally {
      await sub.close();
    }

    const pub = await ok(t.admin, `mutation($i: PublishCourseInput!) { publishCourse(input: $i) { course { publishedVersion { modules { lessons { title durationSeconds video { id durationSeconds } } } } } errors { code message } } }`, { i: { courseId, idempotencyKey: idem() } });
    expect(pub.publishCourse.errors).toEqual([]);
    const videoLesson = pub.publishCourse.course.publishedVersion.modules[0].lessons.find((l: Data) => l.title === 'Walkaround video');
    expect(videoLesson.video.durationSeconds).toBeGreaterThan(6.5);
    expect(videoLesson.durationSeconds).toBe(Math.ceil(videoLesson.video.durationSeconds));
  });

  it('a learner plays the published lesson\'s video; another organization sees none of it', { timeout: 60_000 }, async () => {
    const LESSON_VIDEO = `query($id: ID!) { course(id: $id) { publishedVersion { modules { lessons { title video { id title playback { url expiresAt } captions { language } } } } } } }`;
    // Media hears of the publication from catalog's CoursePublished (events-media).
    const video: Data = await until(async () => {
      const r = await ok(t.learner, LESSON_VIDEO, { id: courseId });
      return r.course.publishedVersion.modules[0].lessons.find((l: Data) => l.title === 'Walkaround video').video as Data;
    }, Boolean, 20_000);
    expect(video.id).toBe(videoId);
    const master = await fetch(video.playback.url);
    expect(master.status).toBe(200);
    expect(await master.text()).toContain('#EXT-X-STREAM-INF');

    expect((await ok(t.bAdmin, `query($id: ID!) { videoAsset(id: $id) { id } }`, { id: videoId })).videoAsset).toBeNull();
    expect((await ok(t.bAdmin, `query($id: ID!) { node(id: $id) { id } }`, { id: videoId })).node).toBeNull();
    const del = await gql(stack.url, `mutation($i: DeleteVideoAssetInput!) { deleteVideoAsset(input: $i) { deletedId } }`, { i: { id: videoId, idempotencyKey: idem() } }, { token: t.bAdmin });
    expect(del.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const sub = await subscribeGateway(stack.url, t.bAdmin, `subscription($id: ID!) { videoAssetUpdated(id: $id) { id } }`, { id: videoId });
    try {
      const r = await sub.next(10_000);
      expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    } finally {
      await sub.close();
    }
  });
});
