// transcode.ts with the real ffmpeg on a generated 8 s 640x360 clip with audio: the HLS ladder
// (master playlist, aligned segments that ffprobe can read, progress), abort (ffmpeg is gone when
// the promise rejects), failures (ffmpeg's last stderr lines), the poster and the thumbnails.
import { readdir, readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMaster, parseMedia } from './hls.ts';
import { chooseLadder } from './ladder.ts';
import { displayedSize, probe, probeVideo, type MediaProbe } from './probe.ts';
import { STDERR_TAIL_LINES } from './run.ts';
import { makeTestVideo } from './test-media.ts';
import { extractPoster, extractThumbnails, transcodeToHls } from './transcode.ts';

let dir: string;
let source: string;
let sourceProbe: MediaProbe;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipeline-transcode-'));
  source = join(dir, 'source.mp4');
  await makeTestVideo({ path: source, seconds: 8, width: 640, height: 360, audio: true });
  sourceProbe = await probeVideo(source);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Processes whose command line mentions `text` (from /proc: ffmpeg started by this test). */
async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(Number(entry));
  }
  return found;
}

describe('transcodeToHls', () => {
  it('writes an aligned HLS ladder with a master playlist, reporting progress', async () => {
    const outDir = join(dir, 'hls');
    const ladder = chooseLadder(displayedSize(sourceProbe.video!));
    expect(ladder.map((r) => r.name)).toEqual(['240p', '360p']);
    const progress: number[] = [];

    const output = await transcodeToHls({ input: source, outDir, probe: sourceProbe, ladder, preset: 'ultrafast', threads: 1, onProgress: (p) => progress.push(p) });

    // Progress: integers, never going back, ending at 100.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(100);
    for (const [i, p] of progress.entries()) {
      expect(Number.isInteger(p)).toBe(true);
      if (i > 0) expect(p).toBeGreaterThan(progress[i - 1]!);
    }

    expect(output.master).toBe('master.m3u8');
    expect(output.segmentSeconds).toBe(6);
    expect(output.durationSeconds).toBeGreaterThan(7.5);
    expect(output.durationSeconds).toBeLessThan(8.5);

    const master = parseMaster(await readFile(join(outDir, output.master), 'utf8'));
    expect(master.variants.map((v) => [v.uri, v.width, v.height])).toEqual([
      ['240p/index.m3u8', 426, 240],
      ['360p/index.m3u8', 640, 360],
    ]);
    for (const [i, variant] of master.variants.entries()) {
      expect(variant.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(variant.bandwidth).toBe(output.renditions[i]?.bandwidth);
      expect(variant.bandwidth).toBeGreaterThan(50_000);
    }

    const durations: number[][] = [];
    for (const [i, variant] of master.variants.entries()) {
      const media = parseMedia(await readFile(join(outDir, variant.uri), 'utf8'));
      expect(media.endList).toBe(true);
      expect(media.targetDuration).toBeLessThanOrEqual(6);
      expect(media.segments.length).toBe(output.renditions[i]?.segments);
      expect(media.segments[0]?.uri).toBe('seg_00001.ts');
      for (const segment of media.segments) {
        expect(segment.duration).toBeLessThanOrEqual(6.5);
        expect((await stat(join(outDir, variant.uri, '..', segment.uri))).size).toBeGreaterThan(0);
      }
      durations.push(media.segments.map((s) => s.duration));
    }
    // Aligned: the same number of segments, cut at the same instants, in every rendition.
    expect(durations[0]?.length).toBeGreaterThanOrEqual(2);
    expect(durations[1]).toHaveLength(durations[0]!.length);
    durations[1]!.forEach((d, k) => expect(d).toBeCloseTo(durations[0]![k]!, 1));

    // A segment is a real MPEG-TS file at its rendition's size, with audio.
    const segment = await probe(join(outDir, '360p', 'seg_00001.ts'));
    expect(segment.container).toBe('MPEG_TS');
    expect(segment.video).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(segment.audio?.codec).toBe('aac');
  });

  it('kills ffmpeg and rejects with an AbortError when aborted mid-run', async () => {
    const outDir = join(dir, 'aborted-hls');
    const controller = new AbortController();
    let percentAtAbort: number | null = null;
    const run = transcodeToHls({
      input: source,
      outDir,
      probe: sourceProbe,
      ladder: chooseLadder({ width: 640, height: 360 }),
      // A slow preset on one thread: still running when its first progress line arrives.
      preset: 'slower',
      threads: 1,
      signal: controller.signal,
      onProgress: (percent) => {
        percentAtAbort ??= percent;
        controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError', message: 'the transcode was aborted' });
    expect(percentAtAbort).not.toBeNull();
    expect(percentAtAbort).toBeLessThan(100);
    expect(await processesMentioning(outDir)).toEqual([]);
  });

  it('does not start when the signal is already aborted', async () => {
    const outDir = join(dir, 'never');
    const run = transcodeToHls({ input: source, outDir, probe: sourceProbe, ladder: chooseLadder({ width: 640, height: 360 }), signal: AbortSignal.abort() });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    await expect(stat(outDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("rejects with ffmpeg's last stderr lines when ffmpeg fails", async () => {
    const bogus = join(dir, 'bogus.mp4');
    await writeFile(bogus, 'not a video\n'.repeat(100));
    const outcome: unknown = await transcodeToHls({ input: bogus, outDir: join(dir, 'bogus-hls'), probe: sourceProbe, ladder: chooseLadder({ width: 640, height: 360 }) }).catch(
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(Error);
    const error = outcome as Error;
    expect(error.message).toMatch(/^ffmpeg failed \(exit code \d+\):\n/);
    expect(error.message).toMatch(/Invalid data found when processing input/);
    expect(error.message.split('\n').length).toBeLessThanOrEqual(STDERR_TAIL_LINES + 1);
  });

  it('refuses a ladder it cannot write', async () => {
    const [rung] = chooseLadder({ width: 640, height: 360 });
    const base = { input: source, outDir: join(dir, 'refused'), probe: sourceProbe };
    await expect(transcodeToHls({ ...base, ladder: [] })).rejects.toThrow(/no rendition/);
    await expect(transcodeToHls({ ...base, ladder: [{ ...rung!, name: '../x' }] })).rejects.toThrow(/rendition name/);
    await expect(transcodeToHls({ ...base, ladder: [{ ...rung!, width: 427 }] })).rejects.toThrow(/even sizes/);
  });
});

describe('extractPoster', () => {
  it('writes a JPEG of the frame at 10 % of the duration', async () => {
    const outFile = join(dir, 'poster', 'poster.jpg');
    await extractPoster({ input: source, outFile, probe: sourceProbe });
    const poster = await probe(outFile);
    expect(poster.video).toMatchObject({ codec: 'mjpeg', width: 640, height: 360 });
  });

  it('still finds a frame when asked past the end', async () => {
    const outFile = join(dir, 'poster-late.jpg');
    await extractPoster({ input: source, outFile, probe: sourceProbe, atSeconds: 60 });
    expect((await stat(outFile)).size).toBeGreaterThan(0);
  });
});

describe('extractThumbnails', () => {
  it('writes one 160 px wide JPEG every 2 s by default, from time 0', async () => {
    const outDir = join(dir, 'thumbs');
    const thumbs = await extractThumbnails({ input: source, outDir, probe: sourceProbe });
    expect(thumbs).toEqual([
      { file: 'thumb_0001.jpg', timeSeconds: 0 },
      { file: 'thumb_0002.jpg', timeSeconds: 2 },
      { file: 'thumb_0003.jpg', timeSeconds: 4 },
      { file: 'thumb_0004.jpg', timeSeconds: 6 },
    ]);
    expect((await readdir(outDir)).sort()).toEqual(thumbs.map((t) => t.file));
    const first = await probe(join(outDir, 'thumb_0001.jpg'));
    expect(first.video).toMatchObject({ codec: 'mjpeg', width: 160, height: 90 });
  });

  it('honours everySeconds and caps the count at 100', async () => {
    const outDir = join(dir, 'thumbs-fine');
    const thumbs = await extractThumbnails({ input: source, outDir, probe: sourceProbe, everySeconds: 1.5 });
    expect(thumbs.map((t) => t.timeSeconds)).toEqual([0, 1.5, 3, 4.5, 6, 7.5]);
    // 0.05 s over 8 s would be 160 images: the interval grows to 8/100 = 0.08 s instead.
    const capped = await extractThumbnails({ input: source, outDir, probe: sourceProbe, everySeconds: 0.05 });
    expect(capped.length).toBeLessThanOrEqual(100);
    expect(capped.length).toBeGreaterThan(90);
    expect(capped[1]?.timeSeconds).toBe(0.08);
    expect((await readdir(outDir)).length).toBe(capped.length);
  });
});
