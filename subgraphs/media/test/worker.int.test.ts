// A worker SIGKILLed in the middle of a transcode: BullMQ gives the stalled job to the next
// worker, which claims a new run; the video ends READY once, pointing at a complete run, and
// nothing of the killed run (nor the upload's parts) is left in storage.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf, inTenant } from '@lectern/kernel';
import { bullPrefix } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { MEDIA } from '@lectern/contracts/media';
import { makeTestVideo } from '../src/modules/pipeline/test-media.ts';
import { videoFolder } from '../src/modules/video/keys.ts';
import { actor, idem, ok, startHarness, until, type Data, type Harness } from './helpers.ts';

let h: Harness;
let child: ChildProcess | undefined;
const org = randomUUID();
const admin = actor({ tenantId: org, roles: ['ORG_ADMIN'] });
type Row = { status: string; run: string | null; processing_run: string | null; processing_attempts: number; failure_reason: string | null };
const rowOf = async (videoId: string): Promise<Row> =>
  (await inTenant(h.subgraph.deps.orm, org, (uow) => uow.statement<Row>(`select status, run, processing_run, processing_attempts, failure_reason from video_assets where tenant_id = ? and id = ?`, [org, videoId])))[0]!;

beforeAll(async () => {
  h = await startHarness('media-worker', { env: { TRANSCODE_LOCK_MS: '3000' } });
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await h?.close();
});

describe('a worker killed mid-transcode', () => {
  it('leaves no half-written READY video: the next worker finishes it once, and no stray objects remain', { timeout: 180_000 }, async () => {
    const clip = join(h.storageDir, '..', `long-${randomUUID()}.mp4`);
    await makeTestVideo({ path: clip, seconds: 12, width: 854, height: 480, audio: true });
    const bytes = await readFile(clip);
    const created = await ok<Data>(h, admin, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id } upload { url } errors { code } } }`, {
      i: { title: 'Long', filename: 'long.mp4', sizeBytes: bytes.length, idempotencyKey: idem() },
    });
    const videoId = idOf(created.createVideoUpload.videoAsset.id, 'VideoAsset')!;

    // The first worker runs as its own process, so it can be SIGKILLed.
    const main = fileURLToPath(new URL('../src/worker.ts', import.meta.url));
    child = spawn(process.execPath, [main], { env: { ...process.env, ...h.rawEnv, LOG_LEVEL: 'silent' }, stdio: 'ignore' });
    const events = new QueueEvents(jobQueueName(MEDIA), { connection: { url: h.env.REDIS_URL }, prefix: bullPrefix(h.env.REDIS_PREFIX) });
    await events.waitUntilReady();
    let seen = 0;
    const started = new Promise<void>((resolve) => events.on('progress', ({ data }) => Number(data) > 0 && ++seen && resolve()));
    try {
      const put = await fetch(created.createVideoUpload.upload.url, {
        method: 'PATCH',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
        body: bytes,
      });
      expect(put.status).toBe(204);
      await started; // ffmpeg is under way in the child
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      const mid = await rowOf(videoId);
      expect(mid.status).toBe('PROCESSING');

      await h.startWorker();
      const row = await until(
        () => rowOf(videoId),
        (r) => r.status !== 'PROCESSING',
        90_000,
      );
      expect(row.failure_reason).toBeNull();
      expect(row.status).toBe('READY');
      expect(row.processing_attempts).toBe(2);
      expect(row.run).not.toBe(mid.processing_run);
      const keys = (await h.subgraph.runtime.storage.list(videoFolder(org, videoId))).map((o) => o.key.slice(videoFolder(org, videoId).length));
      const runs = new Set(keys.filter((k) => k !== 'source').map((k) => k.split('/')[0]));
      expect(runs).toEqual(new Set([row.run]));
      expect(keys).toContain(`${row.run}/master.m3u8`);
      expect(keys.some((k) => k.startsWith('upload/'))).toBe(false);
    } finally {
      await events.close();
    }
  });
});

describe('a video deleted while it transcodes', () => {
  it('stops its ffmpeg and leaves nothing in storage', { timeout: 120_000 }, async () => {
    const clip = join(h.storageDir, '..', `deleted-${randomUUID()}.mp4`);
    await makeTestVideo({ path: clip, seconds: 12, width: 854, height: 480, audio: true });
    const bytes = await readFile(clip);
    const created = await ok<Data>(h, admin, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id } upload { url } errors { code } } }`, {
      i: { title: 'Doomed', filename: 'doomed.mp4', sizeBytes: bytes.length, idempotencyKey: idem() },
    });
    const videoId = idOf(created.createVideoUpload.videoAsset.id, 'VideoAsset')!;
    const events = new QueueEvents(jobQueueName(MEDIA), { connection: { url: h.env.REDIS_URL }, prefix: bullPrefix(h.env.REDIS_PREFIX) });
    await events.waitUntilReady();
    const jobId = `transcode-${videoId}`;
    const started = new Promise<void>((resolve) => events.on('progress', ({ jobId: id, data }) => id === jobId && Number(data) > 0 && resolve()));
    const finished = new Promise<string>((resolve) => events.on('completed', ({ jobId: id, returnvalue }) => id === jobId && resolve(String(returnvalue))));
    try {
      if (!h.worker) await h.startWorker();
      const put = await fetch(created.createVideoUpload.upload.url, {
        method: 'PATCH',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
        body: bytes,
      });
      expect(put.status).toBe(204);
      await started;
      const deleted = await ok<Data>(h, admin, `mutation($i: DeleteVideoAssetInput!) { deleteVideoAsset(input: $i) { deletedId errors { code } } }`, { i: { id: created.createVideoUpload.videoAsset.id, idempotencyKey: idem() } });
      expect(deleted.deleteVideoAsset.errors).toEqual([]);
      expect(await finished).toContain('superseded');
      await until(async () => (await h.subgraph.runtime.storage.list(videoFolder(org, videoId))).length === 0);
    } finally {
      await events.close();
    }
  });
});
