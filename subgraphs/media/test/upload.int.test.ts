// A video from upload to playback against the real PostgreSQL, Redis, local storage and ffmpeg:
// a chunked tus upload (tus-js-client, the reference client) interrupted and resumed, the
// transcode with its progress, the HLS ladder read back through signed URLs; type refusal,
// signature tampering, expiry and cross-video use; another organization and learners.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QueueEvents } from 'bullmq';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf } from '@lectern/kernel';
import { bullPrefix } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { MEDIA } from '@lectern/contracts/media';
import { parseMaster, parseMedia } from '../src/modules/pipeline/hls.ts';
import { probe } from '../src/modules/pipeline/probe.ts';
import { makeTestVideo } from '../src/modules/pipeline/test-media.ts';
import { actor, call, idem, ok, publish, startHarness, until, type Data, type Harness } from './helpers.ts';

let h: Harness;
const org = randomUUID();
const other = randomUUID();
const admin = actor({ tenantId: org, roles: ['ORG_ADMIN'] });
const learner = actor({ tenantId: org, roles: ['LEARNER'] });
const stranger = actor({ tenantId: other, roles: ['ORG_ADMIN'] });
let clip: string;

const VIDEO = `id title status failureReason durationSeconds container sizeBytes storedBytes
  upload { url offset length expiresAt } processing { percent attempts }
  renditions { name width height bandwidth segments } playback { url expiresAt } posterUrl thumbnails { timeSeconds url }`;

async function createUpload(who = admin, sizeBytes: number, filename = 'clip.mp4') {
  const r = await ok<Data>(h, who, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { ${VIDEO} } upload { url offset length } errors { code message } } }`, {
    i: { title: 'Intro', filename, sizeBytes, idempotencyKey: idem() },
  });
  expect(r.createVideoUpload.errors).toEqual([]);
  return r.createVideoUpload as { videoAsset: Data; upload: { url: string; offset: number; length: number } };
}

const videoOf = async (id: string, who = admin) => (await ok<Data>(h, who, `query($id: ID!) { videoAsset(id: $id) { ${VIDEO} } }`, { id })).videoAsset;

/** Uploads `file` through tus-js-client in `chunkSize` pieces; `onChunk(n)` may abort it (returns the upload). */
function tusUpload(url: string, file: Buffer, chunkSize: number, stopAfterChunks?: number): Promise<'done' | 'stopped'> {
  return new Promise((resolve, reject) => {
    let chunks = 0;
    const upload: tus.Upload = new tus.Upload(file, {
      uploadUrl: url,
      chunkSize,
      retryDelays: [],
      onChunkComplete: () => {
        chunks++;
        if (stopAfterChunks !== undefined && chunks === stopAfterChunks) void upload.abort().then(() => resolve('stopped'));
      },
      onSuccess: () => resolve('done'),
      onError: reject,
    });
    upload.start();
  });
}

beforeAll(async () => {
  h = await startHarness('media-upload', { worker: true });
  clip = join(h.storageDir, '..', `clip-${randomUUID()}.mp4`);
  await makeTestVideo({ path: clip, seconds: 8, width: 640, height: 360, audio: true });
});

afterAll(async () => {
  await h?.close();
});

describe('a video from upload to playback', () => {
  let videoId: string;
  let master: string;

  it('uploads in chunks, survives an interruption, transcodes with progress 0 → 100', { timeout: 120_000 }, async () => {
    const bytes = await readFile(clip);
    const created = await createUpload(admin, bytes.length);
    videoId = created.videoAsset.id;
    expect(created.videoAsset.status).toBe('UPLOADING');
    expect(created.upload).toMatchObject({ offset: 0, length: bytes.length });

    const events = new QueueEvents(jobQueueName(MEDIA), { connection: { url: h.env.REDIS_URL }, prefix: bullPrefix(h.env.REDIS_PREFIX) });
    await events.waitUntilReady();
    const progress: number[] = [];
    events.on('progress', ({ data }) => progress.push(Number(data)));
    try {
      // The client stops after two chunks (a lost connection) ...
      const chunk = Math.ceil(bytes.length / 5);
      expect(await tusUpload(created.upload.url, bytes, chunk, 2)).toBe('stopped');
      const half = await videoOf(videoId);
      expect(half.status).toBe('UPLOADING');
      expect(half.upload.offset).toBe(2 * chunk);
      // ... and resumes where it stopped (HEAD tells it the offset).
      expect(await tusUpload(created.upload.url, bytes, chunk)).toBe('done');

      const ready = await until(() => videoOf(videoId), (v) => v.status === 'READY' || v.status === 'FAILED', 60_000);
      expect(ready.failureReason).toBeNull();
      expect(ready.status).toBe('READY');
      expect(ready.durationSeconds).toBeGreaterThan(7.5);
      expect(ready.container).toBe('MP4');
      expect(ready.processing.percent).toBe(100);
      expect(ready.renditions.map((r: Data) => r.name)).toEqual(['240p', '360p']);
      await until(() => progress.includes(100));
      expect(progress[0]).toBe(0);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      master = ready.playback.url;
    } finally {
      await events.close();
    }
  });

  it('plays: the master playlist has the renditions, their segments exist and ffprobe reads them', async () => {
    const res = await fetch(master);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('mpegurl');
    const parsed = parseMaster(await res.text());
    expect(parsed.variants.length).toBeGreaterThanOrEqual(2);
    const counts: number[] = [];
    for (const v of parsed.variants) {
      const mediaUrl = new URL(v.uri, master);
      const playlist = parseMedia(await (await fetch(mediaUrl)).text());
      counts.push(playlist.segments.length);
      for (const s of playlist.segments) expect(s.duration).toBeLessThanOrEqual(6.5);
      const segment = await fetch(new URL(playlist.segments[0]!.uri, mediaUrl));
      expect(segment.status).toBe(200);
      const file = join(h.storageDir, '..', `seg-${randomUUID()}.ts`);
      await writeFile(file, Buffer.from(await segment.arrayBuffer()));
      const p = await probe(file);
      expect(p.video?.height).toBe(v.height);
    }
    // Segments aligned across renditions: the same number in each.
    expect(new Set(counts).size).toBe(1);
    // A byte range of a segment (players seek).
    const firstSegment = new URL(parseMedia(await (await fetch(new URL(parsed.variants[0]!.uri, master))).text()).segments[0]!.uri, new URL(parsed.variants[0]!.uri, master));
    const ranged = await fetch(firstSegment, { headers: { Range: 'bytes=0-187' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(188);
  });

  it('refuses a tampered, an expired and another video\'s URL', async () => {
    const u = new URL(master);
    const parts = u.pathname.split('/'); // '', media, play, tenant, video, expiry, signature, run, master.m3u8
    const sig = parts[6]!;
    const tampered = new URL(master);
    tampered.pathname = [...parts.slice(0, 6), `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`, ...parts.slice(7)].join('/');
    expect((await fetch(tampered)).status).toBe(403);
    const longer = new URL(master);
    longer.pathname = [...parts.slice(0, 5), String(Number(parts[5]) + 3600), ...parts.slice(6)].join('/');
    expect((await fetch(longer)).status).toBe(403);
    const expired = h.subgraph.runtime.signer.path('playback', { tenantId: org, videoId: parts[4]!, expires: Math.floor(Date.now() / 1000) - 1 });
    const old = await fetch(new URL(`/media/play/${expired}/${parts.slice(7).join('/')}`, master));
    expect(old.status).toBe(403);
    expect(await old.text()).toContain('expired');
    const otherVideo = new URL(master);
    otherVideo.pathname = [...parts.slice(0, 4), randomUUID(), ...parts.slice(5)].join('/');
    expect((await fetch(otherVideo)).status).toBe(403);
    // The signature covers outputs only, never the source.
    const source = new URL(master);
    source.pathname = [...parts.slice(0, 7), 'source'].join('/');
    expect((await fetch(source)).status).toBe(404);
  });

  it('another organization sees nothing; a learner sees the video once a published version has it', async () => {
    expect(await videoOf(videoId, stranger)).toBeNull();
    const r = await call<Data>(h, stranger, `mutation($i: DeleteVideoAssetInput!) { deleteVideoAsset(input: $i) { deletedId errors { code } } }`, { i: { id: videoId, idempotencyKey: idem() } });
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await videoOf(videoId, learner)).toBeNull();
    await publish(h, org, [idOf(videoId, 'VideoAsset')!]);
    const seen = await videoOf(videoId, learner);
    expect(seen.playback.url).toMatch(/^http/);
    expect(seen.upload).toBeNull();
    expect(seen.renditions).toEqual([]);
    // In a published version: it cannot be deleted.
    const del = await ok<Data>(h, admin, `mutation($i: DeleteVideoAssetInput!) { deleteVideoAsset(input: $i) { deletedId errors { code } } }`, { i: { id: videoId, idempotencyKey: idem() } });
    expect(del.deleteVideoAsset.errors).toEqual([{ code: 'VIDEO_IN_USE' }]);
  });
});

describe('what is refused', () => {
  it('a non-video file named .mp4 is refused from its bytes, with the reason', async () => {
    const text = Buffer.from('This is a plain text file pretending to be a video. '.repeat(20));
    const created = await createUpload(admin, text.length, 'holiday.mp4');
    const res = await fetch(created.upload.url, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: text,
    });
    expect(res.status).toBe(415);
    expect(await res.text()).toMatch(/not a video/);
    const v = await videoOf(created.videoAsset.id);
    expect(v).toMatchObject({ status: 'FAILED', storedBytes: 0 });
    expect(v.failureReason).toMatch(/not a video.*holiday\.mp4/);
  });

  it('an upload larger than the organization allows, a wrong offset, a foreign upload URL', async () => {
    const big = await ok<Data>(h, admin, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id } errors { code path } } }`, {
      i: { title: 'Huge', filename: 'huge.mp4', sizeBytes: 6 * 1024 ** 4, idempotencyKey: idem() },
    });
    expect(big.createVideoUpload).toEqual({ videoAsset: null, errors: [{ code: 'UPLOAD_TOO_LARGE', path: ['input', 'sizeBytes'] }] });
    const bytes = await readFile(clip);
    const created = await createUpload(admin, bytes.length);
    const wrong = await fetch(created.upload.url, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '100', 'Content-Type': 'application/offset+octet-stream' },
      body: bytes.subarray(100, 200),
    });
    expect(wrong.status).toBe(409);
    expect(wrong.headers.get('upload-offset')).toBe('0');
    // The URL names this organization's video: pointed at another video or organization, it is refused.
    const u = new URL(created.upload.url);
    const parts = u.pathname.split('/');
    u.pathname = [...parts.slice(0, 3), other, ...parts.slice(4)].join('/');
    expect((await fetch(u, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } })).status).toBe(403);
    const head = await fetch(created.upload.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-length')).toBe(String(bytes.length));
  });

  it('captions: invalid WebVTT and language are typed errors; a valid file is listed', async () => {
    const bytes = await readFile(clip);
    const created = await createUpload(admin, bytes.length);
    const set = (language: string, webvtt: string) =>
      ok<Data>(h, admin, `mutation($i: SetVideoCaptionsInput!) { setVideoCaptions(input: $i) { videoAsset { captions { language label cues } } errors { code message } } }`, {
        i: { videoId: created.videoAsset.id, language, label: 'English', webvtt, idempotencyKey: idem() },
      });
    expect((await set('en', '1\n00:00:01,000 --> 00:00:02,000\nHi\n')).setVideoCaptions.errors[0].code).toBe('INVALID_CAPTIONS');
    expect((await set('not a tag', 'WEBVTT\n')).setVideoCaptions.errors[0].code).toBe('INVALID_LANGUAGE');
    const good = await set('en', 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n');
    expect(good.setVideoCaptions).toEqual({ videoAsset: { captions: [{ language: 'en', label: 'English', cues: 1 }] }, errors: [] });
  });
});
