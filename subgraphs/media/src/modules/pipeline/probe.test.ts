// probe.ts against real files made by ffmpeg (mp4 with/without audio, mov with a rotation, mkv,
// webm, an audio-only m4a, text and empty files), plus the ffprobe-JSON mapping and
// sniffContainer on hand-made headers for the containers not worth encoding here.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayedSize, NotAVideoError, parseProbeOutput, probe, probeVideo, readHead, sniffContainer, videoProblem } from './probe.ts';
import { runTool } from './run.ts';
import { makeTestAudio, makeTestVideo } from './test-media.ts';

let dir: string;
const file = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipeline-probe-'));
  await Promise.all([
    makeTestVideo({ path: file('av.mp4'), seconds: 2, width: 320, height: 240, audio: true }),
    makeTestVideo({ path: file('silent.mp4'), seconds: 2, width: 320, height: 180, audio: false }),
    makeTestAudio({ path: file('tone.m4a'), seconds: 1 }),
    writeFile(file('x.mp4'), 'hello, this is a text file\nnot a video at all\n'),
    writeFile(file('empty.mp4'), ''),
  ]);
  await Promise.all([
    // A quarter-turned phone video: the same frames, a rotation in the QuickTime header.
    runTool('ffmpeg', ['-loglevel', 'error', '-y', '-i', file('silent.mp4'), '-c', 'copy', '-metadata:s:v', 'rotate=90', file('turned.mov')]),
    runTool('ffmpeg', ['-loglevel', 'error', '-y', '-i', file('av.mp4'), '-c', 'copy', file('av.mkv')]),
    runTool('ffmpeg', ['-loglevel', 'error', '-y', '-i', file('av.mp4'), '-c', 'copy', file('av.ts')]),
    runTool('ffmpeg', [
      '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '1',
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', file('v.webm'),
    ]),
  ]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('probe', () => {
  it('reads a generated mp4 with audio', async () => {
    const p = await probeVideo(file('av.mp4'));
    expect(p.container).toBe('MP4');
    expect(p.formatName).toContain('mp4');
    expect(p.durationSeconds).toBeGreaterThan(1.9);
    expect(p.durationSeconds).toBeLessThan(2.2);
    expect(p.video).toEqual({ codec: 'h264', width: 320, height: 240, fps: 25, rotation: 0 });
    expect(p.audio).toMatchObject({ codec: 'aac', channels: 1, sampleRate: 44100 });
    expect(p.bitRate).toBeGreaterThan(0);
  });

  it('reads an mp4 without audio', async () => {
    const p = await probeVideo(file('silent.mp4'));
    expect(p.video).toMatchObject({ width: 320, height: 180 });
    expect(p.audio).toBeNull();
  });

  it('reports a quarter turn and the displayed size; a QuickTime file is MOV', async () => {
    const p = await probeVideo(file('turned.mov'));
    expect(p.container).toBe('MOV');
    expect([90, 270]).toContain(p.video?.rotation);
    expect(displayedSize(p.video!)).toEqual({ width: 180, height: 320 });
  });

  it('tells MKV from WebM, and reads MPEG-TS', async () => {
    expect((await probeVideo(file('av.mkv'))).container).toBe('MKV');
    expect((await probeVideo(file('v.webm'))).container).toBe('WEBM');
    expect((await probeVideo(file('av.ts'))).container).toBe('MPEG_TS');
  });

  it('refuses a text file named .mp4 with a readable reason', async () => {
    const error = await probeVideo(file('x.mp4')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotAVideoError);
    expect((error as NotAVideoError).reason).toBe('the file is not a video: ffprobe could not read it as any media format');
    expect((error as NotAVideoError).detail).toMatch(/Invalid data/);
    expect((error as NotAVideoError).detail).not.toContain(dir); // no server paths in what users may see
    await expect(probe(file('x.mp4'))).rejects.toBeInstanceOf(NotAVideoError);
  });

  it('refuses an empty file', async () => {
    await expect(probeVideo(file('empty.mp4'))).rejects.toMatchObject({ name: 'NotAVideoError', reason: 'the file is not a video: it is empty' });
  });

  it('refuses an audio-only file as having no video stream', async () => {
    const p = await probe(file('tone.m4a'));
    expect(p.video).toBeNull();
    expect(p.audio?.codec).toBe('aac');
    await expect(probeVideo(file('tone.m4a'))).rejects.toMatchObject({ reason: 'the file has no video stream (audio only: aac)' });
  });

  it('fails plainly (not NotAVideoError) on a missing file', async () => {
    const error = await probe(file('missing.mp4')).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(NotAVideoError);
    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('parseProbeOutput (ffprobe JSON → MediaProbe)', () => {
  const video = (codec: string, extra: Record<string, unknown> = {}) => ({ codec_type: 'video', codec_name: codec, width: 1280, height: 720, avg_frame_rate: '30000/1001', ...extra });
  const audio = (codec: string) => ({ codec_type: 'audio', codec_name: codec, channels: 2, sample_rate: '48000' });
  const json = (formatName: string, streams: unknown[], format: Record<string, unknown> = {}) => ({
    format: { format_name: formatName, duration: '12.5', bit_rate: '1000000', ...format },
    streams,
  });

  it('maps format names to containers', () => {
    expect(parseProbeOutput(json('avi', [video('mpeg4')])).container).toBe('AVI');
    expect(parseProbeOutput(json('mpegts', [video('h264')])).container).toBe('MPEG_TS');
    expect(parseProbeOutput(json('mov,mp4,m4a,3gp,3g2,mj2', [video('h264')], { tags: { major_brand: 'qt  ' } })).container).toBe('MOV');
    expect(parseProbeOutput(json('mov,mp4,m4a,3gp,3g2,mj2', [video('h264')], { tags: { major_brand: 'isom' } })).container).toBe('MP4');
    expect(parseProbeOutput(json('matroska,webm', [video('vp9'), audio('opus')])).container).toBe('WEBM');
    expect(parseProbeOutput(json('matroska,webm', [video('h264'), audio('aac')])).container).toBe('MKV');
    expect(parseProbeOutput(json('matroska,webm', [video('vp9'), audio('aac')])).container).toBe('MKV');
    expect(parseProbeOutput(json('matroska,webm', [video('h264')]), { webmDoctype: true }).container).toBe('WEBM');
    expect(parseProbeOutput(json('flv', [video('h264')])).container).toBeNull();
  });

  it('reads frame rate, rotation tags and numbers given as strings', () => {
    const p = parseProbeOutput(json('avi', [video('h264', { tags: { rotate: '-90' } }), audio('mp3')]));
    expect(p.video).toEqual({ codec: 'h264', width: 1280, height: 720, fps: 29.97, rotation: 270 });
    expect(p.audio).toEqual({ codec: 'mp3', channels: 2, sampleRate: 48000 });
    expect(p.durationSeconds).toBe(12.5);
    expect(p.bitRate).toBe(1_000_000);
    const matrix = parseProbeOutput(json('avi', [video('h264', { side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] })]));
    expect(matrix.video?.rotation).toBe(270);
  });

  it('ignores cover art: an mp3 with a picture is audio only', () => {
    const p = parseProbeOutput(json('mp3', [audio('mp3'), video('mjpeg', { disposition: { attached_pic: 1 } })]));
    expect(p.video).toBeNull();
    expect(videoProblem(p)).toBe('the file has no video stream (audio only: mp3)');
  });

  it('explains stills, missing durations and foreign containers', () => {
    expect(videoProblem(parseProbeOutput(json('png_pipe', [video('png')], { duration: undefined })))).toBe('the file is a still image (png), not a video');
    expect(videoProblem(parseProbeOutput(json('avi', [video('h264')], { duration: 'N/A' })))).toBe('the video has no duration');
    expect(videoProblem(parseProbeOutput(json('flv', [video('h264')])))).toMatch(/^the video container \(flv\) is not one we accept/);
    expect(videoProblem(parseProbeOutput(json('avi', [video('h264')])))).toBeNull();
  });
});

describe('sniffContainer', () => {
  it('recognizes real mp4, mov, mkv, webm and ts headers', async () => {
    expect(sniffContainer(await readHead(file('av.mp4'), 4096))).toBe('MP4');
    expect(sniffContainer(await readHead(file('turned.mov'), 4096))).toBe('MOV');
    expect(sniffContainer(await readHead(file('av.mkv'), 4096))).toBe('MKV');
    expect(sniffContainer(await readHead(file('v.webm'), 4096))).toBe('WEBM');
    expect(sniffContainer(await readHead(file('v.webm'), 64))).toBe('WEBM');
    expect(sniffContainer(await readHead(file('av.ts'), 4096))).toBe('MPEG_TS');
  });

  it('recognizes AVI and M2TS from hand-made headers', () => {
    const avi = new Uint8Array(64);
    avi.set(new TextEncoder().encode('RIFF\x10\x00\x00\x00AVI LIST'));
    expect(sniffContainer(avi)).toBe('AVI');
    const m2ts = new Uint8Array(4096);
    for (let at = 4; at < m2ts.length; at += 192) m2ts[at] = 0x47;
    expect(sniffContainer(m2ts)).toBe('MPEG_TS');
  });

  it('returns null for text, for audio-only RIFF and for a lone 0x47', async () => {
    expect(sniffContainer(await readHead(file('x.mp4'), 4096))).toBeNull();
    expect(sniffContainer(new TextEncoder().encode('RIFF\x10\x00\x00\x00WAVEfmt '.padEnd(64, ' ')))).toBeNull();
    expect(sniffContainer(new TextEncoder().encode('G'.padEnd(600, 'hello world ')))).toBeNull();
    expect(sniffContainer(new Uint8Array(0))).toBeNull();
  });
});
