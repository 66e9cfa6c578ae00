// The whole path on the S3 driver (an S3-compatible server in-process, s3rver): a tus upload
// stored as part objects in the bucket, transcoded by the worker from there, and played back
// through signed URLs the media process reads from the bucket. The driver's own contract suite
// (packages/storage) covers every operation; this proves the subgraph and worker run on it.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf } from '@lectern/kernel';
import { startTestS3 } from '@lectern/storage/testing';
import { parseMaster } from '../src/modules/pipeline/hls.ts';
import { makeTestVideo } from '../src/modules/pipeline/test-media.ts';
import { videoFolder } from '../src/modules/video/keys.ts';
import { loadEnv, startMedia } from '../src/server.ts';
import { actor, idem, ok, startHarness, until, type Data, type Harness } from './helpers.ts';

let h: Harness;
let s3: Awaited<ReturnType<typeof startTestS3>>;
const org = randomUUID();
const admin = actor({ tenantId: org, roles: ['ORG_ADMIN'] });

beforeAll(async () => {
  s3 = await startTestS3();
  const c = s3.config as Extract<typeof s3.config, { driver: 's3' }>;
  h = await startHarness('media-s3', {
    worker: true,
    env: { STORAGE_DRIVER: 's3', S3_BUCKET: c.bucket, S3_REGION: c.region, S3_ENDPOINT: c.endpoint!, S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: c.accessKeyId!, S3_SECRET_ACCESS_KEY: c.secretAccessKey! },
  });
});
afterAll(async () => {
  await h?.close();
  await s3?.close();
});

describe('on S3-compatible storage', () => {
  it('uploads in two chunks, transcodes and plays', { timeout: 120_000 }, async () => {
    expect(h.subgraph.runtime.storage.driver).toBe('s3');
    const clip = join(h.storageDir, '..', `s3-${randomUUID()}.mp4`);
    await makeTestVideo({ path: clip, seconds: 4, width: 640, height: 360, audio: true });
    const bytes = await readFile(clip);
    const created = await ok<Data>(h, admin, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id } upload { url } errors { code } } }`, {
      i: { title: 'On S3', filename: 's3.mp4', sizeBytes: bytes.length, idempotencyKey: idem() },
    });
    const half = Math.floor(bytes.length / 2);
    for (const [offset, end] of [[0, half], [half, bytes.length]] as const) {
      const res = await fetch(created.createVideoUpload.upload.url, {
        method: 'PATCH',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
        body: bytes.subarray(offset, end),
      });
      expect(res.status).toBe(204);
    }
    const video = await until(
      async () => (await ok<Data>(h, admin, `query($id: ID!) { videoAsset(id: $id) { status failureReason playback { url } } }`, { id: created.createVideoUpload.videoAsset.id })).videoAsset,
      (v) => v.status !== 'PROCESSING',
      60_000,
    );
    expect(video).toMatchObject({ status: 'READY', failureReason: null });
    const master = parseMaster(await (await fetch(video.playback.url)).text());
    expect(master.variants.map((v) => v.height)).toEqual([240, 360]);
    const segment = await fetch(new URL(master.variants[1]!.uri.replace('index.m3u8', 'seg_00001.ts'), video.playback.url));
    expect(segment.status).toBe(200);
    // The objects are in the bucket: the source and one run, nothing of the upload's parts.
    const videoId = idOf(created.createVideoUpload.videoAsset.id, 'VideoAsset')!;
    const keys = (await h.subgraph.runtime.storage.list(videoFolder(org, videoId))).map((o) => o.key.slice(videoFolder(org, videoId).length));
    expect(keys).toContain('source');
    expect(keys.some((k) => k.startsWith('upload/'))).toBe(false);
  });

  it('says in /readyz when the storage does not answer, and is ready again when it does', async () => {
    const ready = async () => (await fetch(h.url.replace(/\/graphql$/, '/readyz'))).json() as Promise<{ status: string; checks: Record<string, string> }>;
    expect(await ready()).toMatchObject({ status: 'ready', checks: { storage: 'ok' } });
    // Another subgraph on a bucket that does not exist: not ready, with the reason.
    const c = s3.config as Extract<typeof s3.config, { driver: 's3' }>;
    const other = await startMedia(loadEnv({ ...h.rawEnv, STORAGE_DRIVER: 's3', S3_BUCKET: 'no-such-bucket', S3_REGION: c.region, S3_ENDPOINT: c.endpoint!, S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: c.accessKeyId!, S3_SECRET_ACCESS_KEY: c.secretAccessKey! }));
    try {
      const r = await fetch(other.url.replace(/\/graphql$/, '/readyz'));
      expect(r.status).toBe(503);
      expect(((await r.json()) as { checks: Record<string, string> }).checks.storage).toMatch(/no-such-bucket/);
    } finally {
      await other.close();
    }
  });
});
