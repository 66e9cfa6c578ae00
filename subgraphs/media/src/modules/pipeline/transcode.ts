// ffmpeg jobs of the media pipeline: a source video → an HLS VOD ladder (one ffmpeg run for all
// renditions), a poster frame, and a strip of thumbnails for the player's seek bar.
//
// HLS output layout (relative to outDir), MPEG-TS segments:
//   master.m3u8                 one #EXT-X-STREAM-INF per rendition (BANDWIDTH, RESOLUTION, CODECS)
//   240p/index.m3u8             the rendition's VOD media playlist
//   240p/seg_00001.ts, …        its segments
// Segments are aligned across renditions (a player can switch at any segment boundary): every
// rendition is scaled from the same decoded frames, keyframes are forced at each multiple of
// segmentSeconds with scene-cut keyframes off and the same GOP length, so every rendition cuts at
// the same instants and has the same number of segments.
//
// ffmpeg writes the media playlists and a first master; we then rewrite the master with BANDWIDTH
// measured from the segments written (the HLS spec's peak segment bit rate) and AVERAGE-BANDWIDTH,
// keeping ffmpeg's CODECS strings (it reads the H.264 profile and level from the encoder).
//
// Every ffmpeg runs through run.ts: arguments as a list, never a shell; an AbortSignal kills it.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseMaster, parseMedia } from './hls.ts';
import type { Rendition } from './ladder.ts';
import type { MediaProbe } from './probe.ts';
import { abortError, runTool } from './run.ts';

export interface HlsOutput {
  /** 'master.m3u8' (relative to outDir) */
  master: string;
  renditions: {
    name: string;
    width: number;
    height: number;
    /** The BANDWIDTH written in the master playlist (bits/s). */
    bandwidth: number;
    /** e.g. '240p/index.m3u8' (relative to outDir) */
    playlist: string;
    segments: number;
  }[];
  segmentSeconds: number;
  /** The sum of the segment durations of the first rendition. */
  durationSeconds: number;
}

export interface TranscodeOptions {
  input: string;
  outDir: string;
  probe: MediaProbe;
  ladder: Rendition[];
  /** Target segment length, default 6. */
  segmentSeconds?: number;
  /** 0..100, integer, never decreasing; at most every 500 ms, then 100 once ffmpeg succeeded. */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
  /** ffmpeg's -threads (default 0: ffmpeg chooses). */
  threads?: number;
  /** libx264 preset, default 'veryfast' (tests use 'ultrafast'). */
  preset?: string;
}

export const DEFAULT_SEGMENT_SECONDS = 6;
const DEFAULT_PRESET = 'veryfast';
const PROGRESS_INTERVAL_MS = 500;
export const MASTER_PLAYLIST = 'master.m3u8';
/** Segments shorter than this (the last one, usually) are left out of the peak: a lone keyframe
 *  in 0.1 s would otherwise claim a huge bit rate. */
const MIN_SEGMENT_FOR_PEAK_SECONDS = 1;
const FFMPEG_COMMON = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y'];

/** One ffmpeg run writing an HLS VOD ladder into outDir (see the header for the layout). Rejects
 *  with an AbortError when `signal` aborts (ffmpeg is killed and gone by then), with an Error
 *  ending in ffmpeg's last stderr lines when it fails. Partial output stays in outDir. */
export async function transcodeToHls(opts: TranscodeOptions): Promise<HlsOutput> {
  const { probe, ladder, onProgress, signal } = opts;
  const segmentSeconds = opts.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
  if (signal?.aborted) throw abortError('the transcode', signal);
  checkTranscodeInput(probe, ladder, segmentSeconds);

  const input = resolve(opts.input);
  const outDir = resolve(opts.outDir);
  for (const r of ladder) await mkdir(join(outDir, r.name), { recursive: true });

  const args = hlsArgs({ input, outDir, probe, ladder, segmentSeconds, threads: opts.threads ?? 0, preset: opts.preset ?? DEFAULT_PRESET });
  const progress = progressReporter(probe.durationSeconds, onProgress);
  try {
    await runTool('ffmpeg', args, { signal, onStdoutLine: progress.line });
  } catch (error) {
    throw renameAbort(error, 'the transcode');
  }

  const output = await writeMaster(outDir, ladder, probe, segmentSeconds);
  progress.done();
  return output;
}

function checkTranscodeInput(probe: MediaProbe, ladder: Rendition[], segmentSeconds: number): void {
  if (probe.video === null) throw new Error('cannot transcode: the probe found no video stream');
  if (ladder.length === 0) throw new Error('cannot transcode: the ladder has no rendition');
  if (!(segmentSeconds > 0 && segmentSeconds <= 60)) throw new Error(`cannot transcode: segmentSeconds must be in (0, 60], got ${segmentSeconds}`);
  const names = new Set<string>();
  for (const r of ladder) {
    // The name is a folder and a var_stream_map token: no separators, no spaces, no commas.
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(r.name)) throw new Error(`cannot transcode: rendition name '${r.name}' must be letters, digits, '_' or '-'`);
    if (names.has(r.name)) throw new Error(`cannot transcode: rendition name '${r.name}' appears twice`);
    names.add(r.name);
    if (r.width % 2 !== 0 || r.height % 2 !== 0 || r.width <= 0 || r.height <= 0) {
      throw new Error(`cannot transcode: rendition ${r.name} is ${r.width}x${r.height}; H.264 4:2:0 needs even sizes`);
    }
  }
}

/** The ffmpeg arguments of transcodeToHls (exported for tests and for reading). */
export function hlsArgs(o: {
  input: string;
  outDir: string;
  probe: MediaProbe;
  ladder: Rendition[];
  segmentSeconds: number;
  threads: number;
  preset: string;
}): string[] {
  const { ladder, probe, segmentSeconds } = o;
  const hasAudio = probe.audio !== null;
  const fps = probe.video?.fps ?? 0;

  // 0:V = the first video stream that is not a cover picture; ffmpeg has already applied the
  // rotation (autorotate), so the frames have the displayed size the ladder was built for.
  const split = `[0:V:0]split=${ladder.length}${ladder.map((_, i) => `[s${i}]`).join('')}`;
  const scales = ladder.map((r, i) => `[s${i}]scale=w=${r.width}:h=${r.height},setsar=1[v${i}]`);
  const filter = [split, ...scales].join(';');

  const args = [...FFMPEG_COMMON, '-progress', 'pipe:1', '-i', o.input, '-filter_complex', filter];
  ladder.forEach((_, i) => {
    args.push('-map', `[v${i}]`);
    if (hasAudio) args.push('-map', '0:a:0');
  });
  // Phone videos carry GPS and device tags: none of them goes into what we publish.
  args.push('-map_metadata', '-1', '-map_chapters', '-1');

  args.push('-c:v', 'libx264', '-preset', o.preset, '-profile:v', 'main', '-pix_fmt', 'yuv420p');
  ladder.forEach((r, i) => {
    args.push(`-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${r.maxrateKbps}k`, `-bufsize:v:${i}`, `${r.bufsizeKbits}k`);
  });
  // Aligned segments: a keyframe at every multiple of segmentSeconds, no scene-cut keyframes,
  // and a GOP of exactly one segment when the frame rate is known.
  args.push('-force_key_frames', `expr:gte(t,n_forced*${segmentSeconds})`, '-sc_threshold', '0');
  if (fps > 0) {
    const gop = String(Math.max(1, Math.round(fps * segmentSeconds)));
    args.push('-g', gop, '-keyint_min', gop);
  }

  if (hasAudio) {
    args.push('-c:a', 'aac');
    ladder.forEach((r, i) => args.push(`-b:a:${i}`, `${r.audioKbps}k`));
    if ((probe.audio?.channels ?? 0) > 2) args.push('-ac', '2');
    if ((probe.audio?.sampleRate ?? 0) > 48_000) args.push('-ar', '48000');
  }

  args.push('-threads', String(o.threads));
  const streamMap = ladder.map((r, i) => (hasAudio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`)).join(' ');
  args.push(
    '-f', 'hls',
    '-hls_time', String(segmentSeconds),
    '-hls_playlist_type', 'vod',
    '-hls_flags', 'independent_segments',
    '-hls_segment_type', 'mpegts',
    '-start_number', '1',
    '-hls_segment_filename', join(o.outDir, '%v', 'seg_%05d.ts'),
    '-master_pl_name', MASTER_PLAYLIST,
    '-var_stream_map', streamMap,
    join(o.outDir, '%v', 'index.m3u8'),
  );
  return args;
}

/** Turns ffmpeg's `-progress pipe:1` lines into onProgress calls (see TranscodeOptions). */
function progressReporter(durationSeconds: number, onProgress: ((percent: number) => void) | undefined) {
  let reported = -1;
  let reportedAt = -Infinity;
  const report = (percent: number): void => {
    reported = percent;
    reportedAt = performance.now();
    onProgress?.(percent);
  };
  return {
    line(line: string): void {
      if (!onProgress || durationSeconds <= 0 || !line.startsWith('out_time_us=')) return;
      const micros = Number(line.slice('out_time_us='.length));
      if (!Number.isFinite(micros) || micros < 0) return; // 'N/A' before the first frame
      // 100 belongs to success: while ffmpeg runs, 99 at most.
      const percent = Math.min(99, Math.floor((micros / (durationSeconds * 1e6)) * 100));
      if (percent > reported && performance.now() - reportedAt >= PROGRESS_INTERVAL_MS) report(percent);
    },
    done(): void {
      if (onProgress && reported < 100) report(100);
    },
  };
}

/** Reads what ffmpeg wrote, checks every segment is there, and writes the final master playlist. */
async function writeMaster(outDir: string, ladder: Rendition[], probe: MediaProbe, segmentSeconds: number): Promise<HlsOutput> {
  const ffmpegMaster = parseMaster(await readFile(join(outDir, MASTER_PLAYLIST), 'utf8'));
  const renditions: HlsOutput['renditions'] = [];
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  let durationSeconds = 0;

  for (const [index, r] of ladder.entries()) {
    const playlist = `${r.name}/index.m3u8`;
    const media = parseMedia(await readFile(join(outDir, playlist), 'utf8'));
    if (media.segments.length === 0) throw new Error(`ffmpeg finished but rendition ${r.name} has no segment`);
    if (!media.endList) throw new Error(`ffmpeg finished but ${playlist} has no #EXT-X-ENDLIST`);

    let totalBits = 0;
    let totalSeconds = 0;
    let peak = 0;
    for (const segment of media.segments) {
      const bytes = (await stat(join(outDir, r.name, segment.uri)).catch(() => null))?.size;
      if (bytes === undefined) throw new Error(`ffmpeg finished but segment ${r.name}/${segment.uri} is missing`);
      totalBits += bytes * 8;
      totalSeconds += segment.duration;
      const longEnough = segment.duration >= MIN_SEGMENT_FOR_PEAK_SECONDS || media.segments.length === 1;
      if (longEnough && segment.duration > 0) peak = Math.max(peak, (bytes * 8) / segment.duration);
    }
    if (peak === 0) peak = totalBits / Math.max(totalSeconds, 0.001);
    if (index === 0) durationSeconds = totalSeconds;

    const bandwidth = Math.ceil(peak);
    const average = Math.ceil(totalBits / Math.max(totalSeconds, 0.001));
    const codecs = ffmpegMaster.variants.find((v) => v.uri === playlist)?.codecs ?? null;
    const attributes = [`BANDWIDTH=${bandwidth}`, `AVERAGE-BANDWIDTH=${average}`, `RESOLUTION=${r.width}x${r.height}`];
    if (codecs === null) throw new Error(`ffmpeg's master playlist gives no CODECS for ${playlist}`);
    attributes.push(`CODECS="${codecs}"`);
    if ((probe.video?.fps ?? 0) > 0) attributes.push(`FRAME-RATE=${(probe.video?.fps ?? 0).toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, playlist);

    renditions.push({ name: r.name, width: r.width, height: r.height, bandwidth, playlist, segments: media.segments.length });
  }

  await writeFile(join(outDir, MASTER_PLAYLIST), `${lines.join('\n')}\n`);
  return { master: MASTER_PLAYLIST, renditions, segmentSeconds, durationSeconds };
}

// ---- poster and thumbnails ----

const POSTER_MAX_WIDTH = 1280;
const THUMB_WIDTH = 160;
const MAX_THUMBNAILS = 100;
const MIN_THUMB_INTERVAL_SECONDS = 2;

/** A poster JPEG: the frame at `atSeconds` (default 10 % of the duration), at most 1280 wide. */
export async function extractPoster(opts: { input: string; outFile: string; probe: MediaProbe; atSeconds?: number; signal?: AbortSignal }): Promise<void> {
  const duration = opts.probe.durationSeconds;
  const wanted = opts.atSeconds ?? duration * 0.1;
  // Seeking past the last frame would yield no picture at all.
  const at = Math.max(0, Math.min(wanted, duration - 0.5));
  const outFile = resolve(opts.outFile);
  await mkdir(dirname(outFile), { recursive: true });
  await rm(outFile, { force: true });

  const args = [
    ...FFMPEG_COMMON,
    '-ss', at.toFixed(3),
    '-i', resolve(opts.input),
    '-map', '0:V:0',
    '-frames:v', '1',
    '-vf', `scale=w='min(${POSTER_MAX_WIDTH},iw)':h=-2`,
    '-map_metadata', '-1',
    '-c:v', 'mjpeg', '-q:v', '3',
    '-f', 'image2', '-update', '1',
    outFile,
  ];
  try {
    await runTool('ffmpeg', args, { signal: opts.signal });
  } catch (error) {
    throw renameAbort(error, 'the poster extraction');
  }
  const written = await stat(outFile).catch(() => null);
  if (!written || written.size === 0) throw new Error(`ffmpeg wrote no poster frame at ${at.toFixed(3)} s`);
}

/** Thumbnails every `everySeconds` (default duration/20, at least 2 s; never more than 100
 *  images), 160 px wide JPEGs 'thumb_0001.jpg', … in outDir, from ONE ffmpeg run. Image k (from 0)
 *  is the frame shown at k × everySeconds. Returns the file names (relative to outDir) and times. */
export async function extractThumbnails(opts: {
  input: string;
  outDir: string;
  probe: MediaProbe;
  everySeconds?: number;
  signal?: AbortSignal;
}): Promise<{ file: string; timeSeconds: number }[]> {
  const duration = opts.probe.durationSeconds;
  if (!(duration > 0)) throw new Error('cannot extract thumbnails: the video has no duration');
  if (opts.everySeconds !== undefined && !(opts.everySeconds > 0)) throw new Error(`everySeconds must be > 0, got ${opts.everySeconds}`);
  let every = opts.everySeconds ?? Math.max(MIN_THUMB_INTERVAL_SECONDS, duration / 20);
  every = Math.max(every, duration / MAX_THUMBNAILS);
  // Frames at 0, every, 2·every, … before the end.
  const count = Math.min(MAX_THUMBNAILS, Math.max(1, Math.ceil(duration / every - 1e-6)));

  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  // A retry into the same folder must not report an earlier run's images.
  for (const name of await readdir(outDir)) if (THUMB_NAME.test(name)) await rm(join(outDir, name), { force: true });

  // fps as an exact ratio; round=up makes image k the last frame at or before k·every (the
  // default, round=near, would take the frame half an interval later).
  const millis = Math.max(1, Math.round(every * 1000));
  const args = [
    ...FFMPEG_COMMON,
    '-i', resolve(opts.input),
    '-map', '0:V:0',
    '-vf', `fps=1000/${millis}:round=up,scale=w=${THUMB_WIDTH}:h=-2`,
    '-frames:v', String(count),
    '-map_metadata', '-1',
    '-c:v', 'mjpeg', '-q:v', '5',
    '-f', 'image2', '-start_number', '1',
    join(outDir, 'thumb_%04d.jpg'),
  ];
  try {
    await runTool('ffmpeg', args, { signal: opts.signal });
  } catch (error) {
    throw renameAbort(error, 'the thumbnail extraction');
  }

  const files = (await readdir(outDir)).filter((name) => THUMB_NAME.test(name)).sort();
  if (files.length === 0) throw new Error('ffmpeg wrote no thumbnail');
  return files.map((file, k) => ({ file, timeSeconds: Math.round(k * millis) / 1000 }));
}

const THUMB_NAME = /^thumb_\d{4,}\.jpg$/;

/** run.ts names the tool in an AbortError ("ffmpeg was aborted"); say which job it was. */
function renameAbort(error: unknown, what: string): unknown {
  if (error instanceof Error && error.name === 'AbortError') {
    const renamed = new Error(`${what} was aborted`, { cause: error.cause });
    renamed.name = 'AbortError';
    return renamed;
  }
  return error;
}
