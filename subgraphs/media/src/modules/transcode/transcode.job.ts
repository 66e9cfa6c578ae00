// From a finished upload to a playable HLS ladder, in the worker (queue jobs-media).
//
// transcode-video (job id `transcode-<video>`, so one job per video however often it is asked):
//   1. claims a run: a new run id (`r<hex>`) in processing_run; a rerun claims another;
//   2. the source: the upload's parts joined into one `source` object (once; a rerun reuses it);
//   3. ffprobe (the authority on the file's type): not a video, or a container the organization
//      does not accept → FAILED with the reason, its objects deleted;
//   4. ffmpeg: the ladder (pipeline/ladder.ts), poster and thumbnails into a local folder, with
//      ffmpeg's progress as the job's progress and the video's `processing.percent`;
//   5. the output stored under the run's folder, then ONE transaction with the video's row
//      locked: captions' playlists and the master playlist written, and the video READY with
//      this run, only if it is still PROCESSING and this job's run is still the claimed one;
//   6. every other object of the video's folder but the source and captions (a killed run's
//      half-written output, the upload's parts) deleted.
// A video deleted while it transcodes stops its ffmpeg within a second (the next percent written
// finds no row), and the run's output is deleted.
// A worker killed at any point leaves the video PROCESSING (never READY with a half-written
// run); BullMQ gives the stalled job to a worker again, which claims a new run. After
// TRANSCODE_ATTEMPTS failed attempts the video is FAILED with the last reason.
//
// purge-video deletes a deleted video's folder (and its pending_purges row).
// The sweep re-enqueues both for rows of pending_transcodes / pending_purges whose job Redis
// lost or never got (a job id per video, so a job already there is not doubled).
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Job, Queue } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant, type Logger, type UnitOfWork } from '@lectern/kernel';
import { defineJob, enqueueOrLeaveToSweep, type JobDefinition } from '@lectern/kernel/consumers';
import { periodic, type Periodic } from '@lectern/kernel/periodic';
import { jobQueueName } from '@lectern/kernel/worker';
import { MEDIA } from '@lectern/contracts/media';
import type { ObjectStorage } from '@lectern/storage';
import { chooseLadder } from '../pipeline/ladder.ts';
import { parseMaster } from '../pipeline/hls.ts';
import { displayedSize, NotAVideoError, probeVideo } from '../pipeline/probe.ts';
import { extractPoster, extractThumbnails, transcodeToHls } from '../pipeline/transcode.ts';
import { captionPlaylist, masterPlaylist } from '../playback/playlists.ts';
import { captionKey, runPrefix, sourceKey, uploadPrefix, videoFolder } from '../video/keys.ts';
import { settingsOf, type SettingsDefaults } from '../video/settings.ts';
import { videoRow, type RenditionView, type VideoView } from '../../views.ts';

export const TRANSCODE_VIDEO = 'transcode-video';
export const PURGE_VIDEO = 'purge-video';
/** Attempts before a video is FAILED (an ffmpeg that fails three times will fail again). */
export const TRANSCODE_ATTEMPTS = 3;
/** At most this often a running transcode writes its percent to the database (the job's progress is every report). */
const PERCENT_WRITE_MS = 1000;
/** Objects stored at once. */
const STORE_CONCURRENCY = 8;
const SWEEP_LIMIT = 500;

const payload = z.strictObject({ tenantId: z.string().uuid(), videoId: z.string().uuid() });
type Payload = z.infer<typeof payload>;

const jobId = (name: string, videoId: string) => `${name === TRANSCODE_VIDEO ? 'transcode' : 'purge'}-${videoId}`;
const producerSide = (name: string) => defineJob({ queue: jobQueueName(MEDIA), name, payload, run: () => Promise.reject(new Error('producer-side definition')) });

/** What the request path and the sweep hand to the worker. */
export interface Transcodes {
  /** Enqueues the video's transcode; never throws (the sweep covers a job Redis did not take). */
  enqueue(tenantId: string, videoId: string): Promise<void>;
  /** Enqueues the deletion of a deleted video's objects; never throws (likewise). */
  purge(tenantId: string, videoId: string): Promise<void>;
}

export function transcodeProducer(queue: Queue, log: Logger): Transcodes {
  const add = async (name: string, data: Payload) => {
    await enqueueOrLeaveToSweep(queue, producerSide(name), data, { jobId: jobId(name, data.videoId) }, log, data);
  };
  return {
    enqueue: (tenantId, videoId) => add(TRANSCODE_VIDEO, { tenantId, videoId }),
    purge: (tenantId, videoId) => add(PURGE_VIDEO, { tenantId, videoId }),
  };
}

export interface TranscodeDeps {
  storage: ObjectStorage;
  /** This process's own local folder for sources and outputs while ffmpeg runs. */
  workDir: string;
  threads: number;
  defaults: SettingsDefaults;
  /** Tells subscribers a video's processing moved (after the change is committed). */
  changed(tenantId: string, videoId: string): void;
}

export function mediaJobs(deps: TranscodeDeps): JobDefinition[] {
  return [
    defineJob({
      queue: jobQueueName(MEDIA),
      name: TRANSCODE_VIDEO,
      payload,
      run: ({ uow, data, job, log }) => transcodeVideo(deps, uow, data.videoId, job, log),
      // BullMQ gave up on the job (e.g. workers kept dying under it): the video says so.
      failed: async ({ uow, data, reason }) => {
        const [row] = await uow.write((em) => em.execute<Record<string, unknown>[]>(`select * from video_assets where tenant_id = ? and id = ?`, [uow.tenantId, data.videoId]));
        if (row) await fail(deps, uow, videoRow(row), `Transcoding failed: ${reason}`);
      },
    }),
    defineJob({
      queue: jobQueueName(MEDIA),
      name: PURGE_VIDEO,
      payload,
      run: async ({ uow, data, log }) => {
        const deleted = await deps.storage.deletePrefix(videoFolder(data.tenantId, data.videoId));
        await uow.write((em) => em.execute(`delete from pending_purges where video_id = ? and organization_id = ?`, [data.videoId, data.tenantId]));
        log.info({ videoId: data.videoId, objects: deleted }, 'video objects deleted');
        return deleted;
      },
    }),
  ];
}

type Outcome = 'ready' | 'failed' | 'superseded' | 'nothing to do';

async function transcodeVideo(deps: TranscodeDeps, uow: UnitOfWork, videoId: string, job: Job, log: Logger): Promise<Outcome> {
  const run = `r${randomBytes(8).toString('hex')}`;
  const claimed = await uow.write((em) =>
    em.execute<Record<string, unknown>[]>(
      `update video_assets set processing_run = ?, processing_attempts = processing_attempts + 1, processing_started_at = now(), processing_percent = 0, updated_at = now()
        where tenant_id = ? and id = ? and status = 'PROCESSING' returning *`,
      [run, uow.tenantId, videoId],
    ),
  );
  if (!claimed[0]) {
    await forget(uow, videoId);
    return 'nothing to do';
  }
  const v = videoRow(claimed[0]);
  deps.changed(v.tenantId, v.id);
  await job.updateProgress(0);
  const dir = join(deps.workDir, `${videoId}-${run}`);
  await mkdir(dir, { recursive: true });
  try {
    const outcome = await produce(deps, uow, v, run, dir, job, log);
    return outcome;
  } catch (err) {
    const attempt = job.attemptsMade + 1;
    if (attempt < TRANSCODE_ATTEMPTS) throw err;
    const reason = `Transcoding failed after ${attempt} attempts: ${err instanceof Error ? err.message.split('\n').slice(-3).join(' ').slice(0, 500) : String(err)}`;
    log.error({ err, videoId }, 'transcode failed for good');
    await fail(deps, uow, v, reason);
    return 'failed';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function produce(deps: TranscodeDeps, uow: UnitOfWork, v: VideoView, run: string, dir: string, job: Job, log: Logger): Promise<Outcome> {
  const source = join(dir, 'source');
  if (!(await deps.storage.getToFile(sourceKey(v.tenantId, v.id), source))) await joinParts(deps, uow, v, source);

  let probe;
  try {
    probe = await probeVideo(source);
  } catch (err) {
    if (!(err instanceof NotAVideoError)) throw err;
    await fail(deps, uow, v, err.reason, { deleteObjects: true });
    return 'failed';
  }
  const settings = await settingsOf((sql, params) => uow.statement(sql, params), v.tenantId, deps.defaults);
  if (!probe.container || !settings.allowedContainers.includes(probe.container)) {
    await fail(deps, uow, v, `${probe.container ?? probe.formatName} videos are not accepted by your organization (accepted: ${settings.allowedContainers.join(', ')})`, { deleteObjects: true });
    return 'failed';
  }

  const out = join(dir, 'out');
  let lastWrite = 0;
  let lastPercent = -1;
  // A video deleted (or taken over by another run) meanwhile stops its ffmpeg at the next
  // percent written: its row no longer matches.
  const gone = new AbortController();
  const superseded = async () => {
    await deps.storage.deletePrefix(runPrefix(v.tenantId, v.id, run));
    log.info({ videoId: v.id, run }, 'transcode superseded (the video was deleted, or another run took over); its output deleted');
    return 'superseded' as const;
  };
  const ladder = chooseLadder(displayedSize(probe.video!));
  log.info(
    { videoId: v.id, run, attempt: job.attemptsMade + 1, container: probe.container, seconds: probe.durationSeconds, width: probe.video!.width, height: probe.video!.height, renditions: ladder.map((r) => r.name) },
    'transcoding',
  );
  let hls;
  try {
    hls = await transcodeToHls({
      input: source,
      outDir: out,
      probe,
      ladder,
      threads: deps.threads,
      signal: gone.signal,
      onProgress: (percent) => {
        // The output is complete only once stored: 99 until then.
        const p = Math.min(99, percent);
        void job.updateProgress(p).catch(() => {});
        const now = Date.now();
        if (p !== lastPercent && now - lastWrite >= PERCENT_WRITE_MS) {
          lastWrite = now;
          lastPercent = p;
          void uow
            .statement(`update video_assets set processing_percent = ? where tenant_id = ? and id = ? and processing_run = ? and status = 'PROCESSING' returning id`, [p, uow.tenantId, v.id, run])
            .then((rows) => (rows.length ? deps.changed(v.tenantId, v.id) : gone.abort()))
            .catch((err: unknown) => log.warn({ err, videoId: v.id }, 'processing percent not recorded'));
        }
      },
    });
  } catch (err) {
    if (gone.signal.aborted) return superseded();
    throw err;
  }
  await extractPoster({ input: source, outFile: join(out, 'poster.jpg'), probe });
  const thumbs = await extractThumbnails({ input: source, outDir: join(out, 'thumbs'), probe });
  const codecs = await readFile(join(out, hls.master), 'utf8').then(parseMaster).then((m) => new Map(m.variants.map((x) => [x.uri, x.codecs])));

  const outputBytes = await storeFolder(deps.storage, out, runPrefix(v.tenantId, v.id, run), (f) => f !== hls.master);
  const renditions: RenditionView[] = hls.renditions.map((r) => ({ name: r.name, width: r.width, height: r.height, bandwidth: r.bandwidth, codecs: codecs.get(r.playlist) ?? null, playlist: r.playlist, segments: r.segments }));
  const thumbnails = thumbs.map((t) => ({ file: `thumbs/${t.file}`, timeSeconds: t.timeSeconds }));

  const done = await uow.write(async (em) => {
    const [row] = await em.execute<Record<string, unknown>[]>(`select * from video_assets where tenant_id = ? and id = ? for update`, [uow.tenantId, v.id]);
    if (!row || row.status !== 'PROCESSING' || row.processing_run !== run) return false;
    const captions = await em.execute<{ language: string; label: string; size_bytes: string }[]>(
      `select language, label, size_bytes from video_captions where tenant_id = ? and video_id = ? order by language`,
      [uow.tenantId, v.id],
    );
    for (const c of captions) await deps.storage.put(captionKey(v.tenantId, v.id, c.language, 'm3u8'), captionPlaylist(c.language, hls.durationSeconds));
    const master = masterPlaylist(renditions, captions);
    await deps.storage.put(`${runPrefix(v.tenantId, v.id, run)}master.m3u8`, master, { contentType: 'application/vnd.apple.mpegurl' });
    const captionBytes = captions.reduce((n, c) => n + Number(c.size_bytes), 0);
    await em.execute(
      `update video_assets set status = 'READY', run = ?, failure_reason = null, duration_seconds = ?, width = ?, height = ?, container = ?,
              renditions = ?::jsonb, thumbnails = ?::jsonb, processing_percent = 100, processed_at = now(), updated_at = now(),
              upload_parts = '[]'::jsonb, stored_bytes = ?
        where tenant_id = ? and id = ?`,
      [run, hls.durationSeconds, probe.video!.width, probe.video!.height, probe.container, JSON.stringify(renditions), JSON.stringify(thumbnails),
        v.sizeBytes + outputBytes + Buffer.byteLength(master) + captionBytes, uow.tenantId, v.id],
    );
    await em.execute(`delete from pending_transcodes where video_id = ? and organization_id = ?`, [v.id, uow.tenantId]);
    return true;
  });
  // Deleted meanwhile, or another run took over: this run's output is nobody's.
  if (!done) return superseded();
  await job.updateProgress(100);
  deps.changed(v.tenantId, v.id);
  const strays = await removeStrays(deps.storage, v, run);
  log.info({ videoId: v.id, run, seconds: hls.durationSeconds, renditions: renditions.map((r) => r.name), strays }, 'video ready');
  return 'ready';
}

/** The upload's parts, in order, into one local file, stored as the `source` object. */
async function joinParts(deps: TranscodeDeps, uow: UnitOfWork, v: VideoView, path: string) {
  const parts = [...v.uploadParts].sort((a, b) => a.offset - b.offset);
  let expected = 0;
  for (const p of parts) {
    if (p.offset !== expected) throw new Error(`upload parts are not contiguous at byte ${expected}`);
    expected += p.size;
  }
  if (expected !== v.sizeBytes) throw new Error(`upload has ${expected} of ${v.sizeBytes} bytes`);
  await writeFile(path, '');
  for (const p of parts) {
    const obj = await deps.storage.get(p.key);
    if (!obj) throw new Error(`upload part ${p.key} is missing`);
    await pipeline(obj.body, createWriteStream(path, { flags: 'a' }));
  }
  await deps.storage.putFile(sourceKey(v.tenantId, v.id), path, { contentType: 'application/octet-stream' });
  await uow.write((em) => em.execute(`update video_assets set upload_parts = '[]'::jsonb where tenant_id = ? and id = ?`, [uow.tenantId, v.id]));
  await deps.storage.deletePrefix(uploadPrefix(v.tenantId, v.id));
}

/** Every file under `dir` stored under `prefix` (a few at a time); the bytes stored. */
async function storeFolder(storage: ObjectStorage, dir: string, prefix: string, include: (relativePath: string) => boolean): Promise<number> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'))
    .filter(include);
  let bytes = 0;
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!;
      bytes += (await stat(join(dir, f))).size;
      await storage.putFile(`${prefix}${f}`, join(dir, f));
    }
  };
  await Promise.all(Array.from({ length: Math.min(STORE_CONCURRENCY, files.length) }, worker));
  return bytes;
}

/** Objects of the video's folder that belong to no current thing (older runs, upload parts); how many went. */
async function removeStrays(storage: ObjectStorage, v: VideoView, run: string): Promise<number> {
  const folder = videoFolder(v.tenantId, v.id);
  const keep = [runPrefix(v.tenantId, v.id, run), `${folder}captions/`, sourceKey(v.tenantId, v.id)];
  const strays = (await storage.list(folder)).map((o) => o.key).filter((k) => !keep.some((p) => k === p || k.startsWith(p)));
  await storage.delete(strays);
  return strays.length;
}

async function fail(deps: TranscodeDeps, uow: UnitOfWork, v: VideoView, reason: string, opts: { deleteObjects?: boolean } = {}) {
  await uow.write(async (em) => {
    await em.execute(
      `update video_assets set status = 'FAILED', failure_reason = ?, processing_percent = 0, updated_at = now() ${opts.deleteObjects ? ", upload_parts = '[]'::jsonb, stored_bytes = 0" : ''}
        where tenant_id = ? and id = ? and status = 'PROCESSING'`,
      [reason.slice(0, 1000), uow.tenantId, v.id],
    );
    await em.execute(`delete from pending_transcodes where video_id = ? and organization_id = ?`, [v.id, uow.tenantId]);
  });
  if (opts.deleteObjects) await deps.storage.deletePrefix(videoFolder(v.tenantId, v.id));
  deps.changed(v.tenantId, v.id);
}

async function forget(uow: UnitOfWork, videoId: string) {
  await uow.write((em) => em.execute(`delete from pending_transcodes where video_id = ? and organization_id = ?`, [videoId, uow.tenantId]));
}

/**
 * Re-enqueues, across organizations, the transcodes and purges waiting longer than `graceMs`
 * (their job may be lost), and ends uploads past their expiry. Ids only (no tenant here: see
 * pending_transcodes, open_uploads).
 */
export function mediaSweep(deps: { orm: MikroORM; log: Logger; transcodes: Transcodes; storage: ObjectStorage; graceMs: number }): Periodic {
  return periodic('media sweep', deps.log, async (stopping) => {
    const em = deps.orm.em.fork();
    const waiting = async (table: 'pending_transcodes' | 'pending_purges') =>
      em.execute<{ video_id: string; organization_id: string }[]>(
        `select video_id, organization_id from ${table} where since < clock_timestamp() - make_interval(secs => ?::numeric / 1000) order by since limit ?`,
        [deps.graceMs, SWEEP_LIMIT],
      );
    let n = 0;
    for (const r of await waiting('pending_transcodes')) {
      if (stopping()) break;
      await deps.transcodes.enqueue(r.organization_id, r.video_id);
      n++;
    }
    for (const r of await waiting('pending_purges')) {
      if (stopping()) break;
      await deps.transcodes.purge(r.organization_id, r.video_id);
      n++;
    }
    // Uploads past their expiry: FAILED, and their parts deleted (by a purge of the upload's prefix).
    const expired = await em.execute<{ video_id: string; organization_id: string }[]>(
      `select video_id, organization_id from open_uploads where expires_at < clock_timestamp() order by expires_at limit ?`,
      [SWEEP_LIMIT],
    );
    for (const r of expired) {
      if (stopping()) break;
      await inTenant(deps.orm, r.organization_id, (uow) =>
        uow.write((tx) =>
          tx.execute(
            `with f as (update video_assets set status = 'FAILED', failure_reason = 'The upload expired before all of its bytes arrived; start a new one',
                               upload_parts = '[]'::jsonb, stored_bytes = 0, updated_at = now()
                         where tenant_id = ? and id = ? and status = 'UPLOADING' returning id)
             delete from open_uploads where video_id = ?`,
            [r.organization_id, r.video_id, r.video_id],
          ),
        ),
      );
      await deps.storage.deletePrefix(uploadPrefix(r.organization_id, r.video_id));
      deps.log.info({ videoId: r.video_id, tenantId: r.organization_id }, 'upload expired');
      n++;
    }
    return n;
  });
}
