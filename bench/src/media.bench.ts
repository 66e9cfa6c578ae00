// `pnpm bench media`: video uploads and transcodes, as separate processes on a scratch database
// (every subgraph, the media worker, the gateway; production mode, local storage in a scratch
// folder, TRANSCODE_THREADS at its default: every core).
// Source: BENCH_MEDIA_SECONDS (60) seconds of 1080p25 made by ffmpeg (testsrc2 with a tone, H.264
// at preset medium, so the file has the size of a real upload rather than of a still pattern).
// 1. Upload throughput: BENCH_MEDIA_UPLOAD_ROUNDS (3) uploads of the file through the tus route
//    (createVideoUpload through the gateway, then PATCHes of BENCH_MEDIA_CHUNK_MIB each, one
//    after the other, as a tus client sends them); MiB/s per round from the first PATCH to the
//    last answer. Each video is deleted right after, so its transcode finds nothing to do.
// 2. Transcode throughput: one more upload of the file, and the wall time from its last PATCH
//    to READY (probe, the ladder for 1080p: 240p/360p/480p/720p/1080p, poster, thumbnails, every
//    object stored): seconds of video per wall-clock second, how busy the machine's cores were
//    (ffmpeg is most of it), and the CPU each Lectern process spent.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createOrm } from '@lectern/kernel/orm';
import { entities as identityEntities } from '@lectern/identity/server';
import { accessTokenFor, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { idem } from '@lectern/testkit';
import { runTool } from '@lectern/media/testing';
import { benchEnv } from './env.ts';
import { cpuSnapshot, cpuSpent, post, startBenchStack, type Json } from './stack.ts';

const MiB = 1024 * 1024;
const round1 = (x: number) => Math.round(x * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The machine's CPU time so far (Linux /proc/stat, all cores): busy and total ticks. ffmpeg runs as short-lived children, which per-process snapshots miss. */
function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function makeSource(path: string, seconds: number) {
  await runTool('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'medium', '-b:v', '8M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', path,
  ], { timeoutMs: 15 * 60_000 });
}

/** PATCHes `file` to a tus upload URL in `chunk`-byte requests; resolves when the last is answered. */
async function upload(url: string, file: Buffer<ArrayBuffer>, chunk: number) {
  for (let offset = 0; offset < file.length; offset += chunk) {
    const body = file.subarray(offset, Math.min(file.length, offset + chunk));
    const res = await fetch(url, { method: 'PATCH', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' }, body });
    if (res.status !== 204) throw new Error(`PATCH at ${offset}: ${res.status} ${await res.text()}`);
  }
}

export async function mediaBench() {
  const scratch = await mkdtemp(join(os.tmpdir(), 'lectern-bench-media-'));
  const stack = await startBenchStack({
    label: 'bench-media',
    workers: ['media'],
    env: { STORAGE_DIR: join(scratch, 'objects'), MEDIA_WORK_DIR: join(scratch, 'work'), MEDIA_SIGNING_SECRET: 'bench-media-signing-secret-0123456789abcdef', MEDIA_MAX_UPLOAD_BYTES: String(20 * 1024 ** 3) },
  });
  try {
    const identityOrm = await createOrm({ databaseUrl: stack.db.url, schema: 'identity', entities: identityEntities });
    const org = await seedOrganizationWithPeople(identityOrm, 'bench-media');
    const token = await accessTokenFor(identityOrm, org.admin, org.org, 7200);
    await identityOrm.close();
    const gw = stack.gatewayUrl;

    const source = join(scratch, 'source.mp4');
    console.log(`making a ${benchEnv.BENCH_MEDIA_SECONDS} s 1080p source with ffmpeg...`);
    await makeSource(source, benchEnv.BENCH_MEDIA_SECONDS);
    const file = await readFile(source);
    const chunk = benchEnv.BENCH_MEDIA_CHUNK_MIB * MiB;
    console.log(`source: ${round1(file.length / MiB)} MiB`);

    const create = async (title: string) => {
      const r = await post(gw, `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id } upload { url } errors { code message } } }`, {
        i: { title, filename: 'source.mp4', sizeBytes: file.length, idempotencyKey: idem() },
      }, token);
      const payload = r.body.data?.createVideoUpload as Json;
      if (!payload || payload.errors.length) throw new Error(`createVideoUpload: ${JSON.stringify(r.body)}`);
      return payload as { videoAsset: { id: string }; upload: { url: string } };
    };

    // --- 1. upload throughput ---------------------------------------------------------------
    const rates: number[] = [];
    for (let i = 0; i < benchEnv.BENCH_MEDIA_UPLOAD_ROUNDS; i++) {
      const v = await create(`upload ${i + 1}`);
      const t0 = performance.now();
      await upload(v.upload.url, file, chunk);
      const seconds = (performance.now() - t0) / 1000;
      rates.push(file.length / MiB / seconds);
      console.log(`upload ${i + 1}: ${round1(file.length / MiB / seconds)} MiB/s (${round1(seconds)} s)`);
      await post(gw, `mutation($i: DeleteVideoAssetInput!) { deleteVideoAsset(input: $i) { errors { code } } }`, { i: { id: v.videoAsset.id, idempotencyKey: idem() } }, token);
    }

    // --- 2. transcode throughput --------------------------------------------------------------
    const v = await create('transcoded');
    await upload(v.upload.url, file, chunk);
    const t0 = performance.now();
    const cpu0 = cpuSnapshot();
    const machine0 = machineCpu();
    let last: Json;
    for (;;) {
      const r = await post(gw, `query($id: ID!) { videoAsset(id: $id) { status failureReason durationSeconds processing { percent } renditions { name } } }`, { id: v.videoAsset.id }, token);
      last = r.body.data?.videoAsset;
      if (last?.status === 'READY' || last?.status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 250)); // polling interval of the observer, not a wait for the system
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSpent(cpu0);
    const machine1 = machineCpu();
    const busyPercent = Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100);
    if (last.status !== 'READY') throw new Error(`transcode failed: ${last.failureReason}`);
    const factor = last.durationSeconds / wall;
    console.log(`transcode: ${round1(last.durationSeconds)} s of 1080p in ${round1(wall)} s wall = ${round1(factor * 100) / 100}× real time (${last.renditions.map((r: Json) => r.name).join(', ')}); the machine's cores ${busyPercent} % busy meanwhile`);
    return {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model },
      source: { seconds: benchEnv.BENCH_MEDIA_SECONDS, bytes: file.length, resolution: '1920x1080', fps: 25 },
      upload: { chunkMiB: benchEnv.BENCH_MEDIA_CHUNK_MIB, rounds: rates.map(round1), medianMiBPerSecond: round1(median(rates)) },
      transcode: {
        wallSeconds: round1(wall),
        videoSeconds: last.durationSeconds,
        videoSecondsPerWallSecond: Math.round(factor * 100) / 100,
        renditions: last.renditions.map((r: Json) => r.name),
        machineCpuBusyPercent: busyPercent,
        // Node processes only: ffmpeg ran as children that ended before the snapshot (see machineCpuBusyPercent).
        cpuMsByProcess: cpu,
      },
    };
  } finally {
    await stack.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
