// An upload finished while Redis is down (a TCP proxy in front of the shared Redis, closed): the
// last PATCH still answers at once (the video is PROCESSING in PostgreSQL; only its job could not
// be queued), and once Redis is back the worker's sweep enqueues the transcode and the video ends
// READY, without a restart of anything.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { target, TcpProxy } from '@lectern/testkit/tcp-proxy';
import { makeTestVideo } from '../src/modules/pipeline/test-media.ts';
import { loadEnv } from '../src/server.ts';
import { actor, idem, ok, startHarness, until, type Data, type Harness } from './helpers.ts';

const proxy = new TcpProxy(...target(loadEnv().REDIS_URL));
let h: Harness;
const org = randomUUID();
const admin = actor({ tenantId: org, roles: ['ORG_ADMIN'] });

beforeAll(async () => {
  await proxy.open();
  h = await startHarness('media-outage', { worker: true, env: { REDIS_URL: proxy.url, MEDIA_SWEEP_INTERVAL_MS: '300' } });
});
afterAll(async () => {
  await proxy.open().catch(() => {});
  if (h?.worker) await until(() => fetch(`${h.worker!.url}/readyz`).then((r) => r.ok, () => false));
  await h?.close();
  await proxy.close();
});

describe('while Redis is down', () => {
  it('takes the upload at once and transcodes it when Redis is back', { timeout: 120_000 }, async () => {
    const clip = join(h.storageDir, '..', `outage-${randomUUID()}.mp4`);
    await makeTestVideo({ path: clip, seconds: 3, width: 426, height: 240, audio: false });
    const bytes = await readFile(clip);
    const created = await ok<Data>(h, admin, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id } upload { url } errors { code } } }`, {
      i: { title: 'Outage', filename: 'outage.mp4', sizeBytes: bytes.length, idempotencyKey: idem() },
    });
    await proxy.close();
    const began = performance.now();
    const put = await fetch(created.createVideoUpload.upload.url, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: bytes,
    });
    expect(put.status).toBe(204);
    // The job could not be queued: the request waited at most its bounded enqueue (1 s), not for Redis.
    expect(performance.now() - began).toBeLessThan(3000);
    const status = async () => (await ok<Data>(h, admin, `query($id: ID!) { videoAsset(id: $id) { status failureReason } }`, { id: created.createVideoUpload.videoAsset.id })).videoAsset;
    expect((await status()).status).toBe('PROCESSING');
    await proxy.open();
    const done = await until(status, (v) => v.status !== 'PROCESSING', 60_000);
    expect(done).toEqual({ status: 'READY', failureReason: null });
  });
});
