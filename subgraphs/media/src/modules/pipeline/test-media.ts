// Test fixtures: small synthetic media files made by ffmpeg from its built-in sources (lavfi
// testsrc: a moving colour pattern; sine: a tone), so tests need no binary files in the repository.
// Used by the pipeline's own tests and by the worker, e2e and bench tests. ultrafast x264 keeps
// generation well under a second for a few seconds of small video.
import { mkdir } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { runTool } from './run.ts';

/** Writes a test video: `seconds` of testsrc at width×height, 25 fps, H.264 yuv420p, plus a 440 Hz
 *  AAC tone when `audio`. The container follows the extension (.mp4/.mov/.m4v get +faststart;
 *  .mkv and .ts work too). Creates the parent folder. */
export async function makeTestVideo(opts: { path: string; seconds: number; width: number; height: number; audio: boolean }): Promise<void> {
  const { seconds, width, height, audio } = opts;
  const path = resolve(opts.path);
  await mkdir(dirname(path), { recursive: true });
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=25`];
  if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100');
  // One thread: tests run beside other tests on two cores.
  args.push('-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-threads', '1');
  if (audio) args.push('-c:a', 'aac');
  if (['.mp4', '.mov', '.m4v'].includes(extname(path).toLowerCase())) args.push('-movflags', '+faststart');
  args.push(path);
  await runTool('ffmpeg', args);
}

/** Writes an audio-only file (a 440 Hz tone, AAC): `.m4a` for "audio only" refusals. */
export async function makeTestAudio(opts: { path: string; seconds: number }): Promise<void> {
  const path = resolve(opts.path);
  await mkdir(dirname(path), { recursive: true });
  await runTool('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(opts.seconds), '-c:a', 'aac', path,
  ]);
}
