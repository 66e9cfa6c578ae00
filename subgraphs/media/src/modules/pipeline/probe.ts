// What a media file is, asked of ffprobe: container, duration, the first video and audio streams,
// rotation. The upload path uses it to accept or refuse a file (probeVideo throws NotAVideoError
// with a sentence a person can read), the transcoder uses it to choose the HLS ladder and to turn
// ffmpeg's progress into a percentage. sniffContainer looks at the first bytes only: a cheap early
// refusal while the upload is still streaming in; ffprobe on the whole file stays the authority.
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runTool, ToolFailedError } from './run.ts';

export const VIDEO_CONTAINERS = ['MP4', 'MOV', 'WEBM', 'MKV', 'AVI', 'MPEG_TS'] as const;
export type VideoContainer = (typeof VIDEO_CONTAINERS)[number];

export interface MediaProbe {
  /** ffprobe's format_name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm' */
  formatName: string;
  /** The container we accept it as, or null when it is not one of ours. */
  container: VideoContainer | null;
  /** Seconds; > 0 for anything probeVideo accepts (0 when ffprobe could not tell). */
  durationSeconds: number;
  /** The first video stream that is not a cover picture. width/height are the coded (stored) size;
   *  rotation is 0, 90, 180 or 270 (degrees, as ffprobe reports it): a quarter turn swaps the
   *  displayed width and height (see displayedSize). fps is 0 when unknown. */
  video: { codec: string; width: number; height: number; fps: number; rotation: number } | null;
  audio: { codec: string; channels: number; sampleRate: number } | null;
  /** Bits per second of the whole file, when ffprobe knows it. */
  bitRate: number | null;
}

/** A file that is not a playable video. `reason` is what a person reads, e.g. "the file is not a
 *  video: ffprobe could not read it as any media format"; `detail` is ffprobe's own words, for logs. */
export class NotAVideoError extends Error {
  readonly reason: string;
  readonly detail: string | null;
  constructor(reason: string, detail: string | null = null) {
    super(reason);
    this.name = 'NotAVideoError';
    this.reason = reason;
    this.detail = detail;
  }
}

const DEFAULT_PROBE_TIMEOUT_MS = 30_000;

/** The size a player shows: the coded size, with width and height swapped for a quarter turn. */
export function displayedSize(video: { width: number; height: number; rotation: number }): { width: number; height: number } {
  return video.rotation % 180 === 90 ? { width: video.height, height: video.width } : { width: video.width, height: video.height };
}

/** Runs `ffprobe -v error -print_format json -show_format -show_streams` on a local file.
 *  Throws NotAVideoError when ffprobe cannot read it as media at all (text, garbage, truncated
 *  upload), a plain Error when the file is missing or ffprobe times out (default 30 s). */
export async function probe(path: string, opts: { timeoutMs?: number } = {}): Promise<MediaProbe> {
  // An absolute path: ffmpeg would read 'name:rest' as a protocol and '-name' as an option.
  const file = resolve(path);
  const info = await stat(file); // a missing file is our caller's problem, not a bad upload
  if (info.size === 0) throw new NotAVideoError('the file is not a video: it is empty');

  let stdout: string;
  try {
    ({ stdout } = await runTool('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-i', file], {
      timeoutMs: opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
    }));
  } catch (error) {
    if (error instanceof ToolFailedError) {
      // ffprobe's lines start with the path ("/tmp/x.mp4: Invalid data..."): keep the words only.
      const detail = error.stderrTail.map((line) => line.split(`${file}: `).join('')).join('; ');
      throw new NotAVideoError('the file is not a video: ffprobe could not read it as any media format', detail || null);
    }
    throw error;
  }

  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new Error(`ffprobe printed output that is not JSON for ${file}`);
  }
  const head = await readHead(file, 4096);
  return parseProbeOutput(json, { webmDoctype: sniffContainer(head) === 'WEBM' });
}

/** probe() that also throws NotAVideoError when the file has no video stream, no duration or is
 *  not in one of VIDEO_CONTAINERS. */
export async function probeVideo(path: string, opts: { timeoutMs?: number } = {}): Promise<MediaProbe> {
  const result = await probe(path, opts);
  const problem = videoProblem(result);
  if (problem !== null) throw new NotAVideoError(problem);
  return result;
}

/** Why a probed file is not a video we accept, or null when it is one. */
export function videoProblem(p: MediaProbe): string | null {
  const imageFormat = p.formatName === 'image2' || p.formatName.endsWith('_pipe');
  if (p.video === null) {
    return p.audio !== null ? `the file has no video stream (audio only: ${p.audio.codec})` : 'the file has no video stream';
  }
  if (imageFormat || (p.durationSeconds <= 0 && STILL_IMAGE_CODECS.has(p.video.codec))) {
    return `the file is a still image (${p.video.codec}), not a video`;
  }
  if (p.durationSeconds <= 0) return 'the video has no duration';
  if (p.video.width <= 0 || p.video.height <= 0) return 'the video stream has no picture size';
  if (p.container === null) {
    return `the video container (${p.formatName}) is not one we accept: use MP4, MOV, WebM, MKV, AVI or MPEG-TS`;
  }
  return null;
}

const STILL_IMAGE_CODECS = new Set(['png', 'mjpeg', 'bmp', 'webp', 'tiff', 'gif', 'jpeg2000']);
const WEBM_VIDEO_CODECS = new Set(['vp8', 'vp9', 'av1']);
const WEBM_AUDIO_CODECS = new Set(['vorbis', 'opus']);

/** ffprobe's JSON (-show_format -show_streams) as a MediaProbe. Exported for tests.
 *  `webmDoctype`: the file's EBML header says 'webm' (ffprobe does not print the doctype). */
export function parseProbeOutput(json: unknown, hints: { webmDoctype?: boolean } = {}): MediaProbe {
  const root = asRecord(json);
  const format = asRecord(root.format);
  const streams = Array.isArray(root.streams) ? root.streams.map(asRecord) : [];

  const videoStream = streams.find((s) => s.codec_type === 'video' && asRecord(s.disposition).attached_pic !== 1);
  const audioStream = streams.find((s) => s.codec_type === 'audio');

  const video = videoStream
    ? {
        codec: str(videoStream.codec_name) ?? 'unknown',
        width: int(videoStream.width) ?? 0,
        height: int(videoStream.height) ?? 0,
        fps: frameRate(videoStream.avg_frame_rate) || frameRate(videoStream.r_frame_rate),
        rotation: rotationOf(videoStream),
      }
    : null;
  const audio = audioStream
    ? {
        codec: str(audioStream.codec_name) ?? 'unknown',
        channels: int(audioStream.channels) ?? 0,
        sampleRate: int(audioStream.sample_rate) ?? 0,
      }
    : null;

  const formatName = str(format.format_name) ?? '';
  const formatDuration = num(format.duration);
  const streamDuration = Math.max(0, ...streams.map((s) => num(s.duration) ?? 0));
  const durationSeconds = formatDuration !== null && formatDuration > 0 ? formatDuration : streamDuration;
  const majorBrand = str(asRecord(format.tags).major_brand);

  return {
    formatName,
    container: containerOf(formatName, majorBrand, video?.codec ?? null, audio?.codec ?? null, hints.webmDoctype ?? false),
    durationSeconds,
    video,
    audio,
    bitRate: int(format.bit_rate),
  };
}

function containerOf(
  formatName: string,
  majorBrand: string | null,
  videoCodec: string | null,
  audioCodec: string | null,
  webmDoctype: boolean,
): VideoContainer | null {
  const names = formatName.split(',');
  if (names.includes('mov') || names.includes('mp4')) return majorBrand?.trim() === 'qt' ? 'MOV' : 'MP4';
  if (names.includes('matroska') || names.includes('webm')) {
    const webmCodecs =
      videoCodec !== null && WEBM_VIDEO_CODECS.has(videoCodec) && (audioCodec === null || WEBM_AUDIO_CODECS.has(audioCodec));
    return webmCodecs || webmDoctype ? 'WEBM' : 'MKV';
  }
  if (names.includes('avi')) return 'AVI';
  if (names.includes('mpegts')) return 'MPEG_TS';
  return null;
}

/** The display matrix rotation (side data), else the legacy `rotate` tag; 0, 90, 180 or 270. */
function rotationOf(stream: Record<string, unknown>): number {
  const sideData = Array.isArray(stream.side_data_list) ? stream.side_data_list.map(asRecord) : [];
  const fromMatrix = sideData.map((d) => num(d.rotation)).find((r) => r !== null);
  const degrees = fromMatrix ?? num(asRecord(stream.tags).rotate) ?? 0;
  const quarterTurns = Math.round(degrees / 90);
  return (((quarterTurns % 4) + 4) % 4) * 90;
}

/** '30000/1001' → 29.97 (3 decimals); 0 for '0/0' or anything unreadable. */
function frameRate(value: unknown): number {
  const text = str(value);
  if (text === null) return 0;
  const [n, d = '1'] = text.split('/');
  const rate = Number(n) / Number(d);
  return Number.isFinite(rate) && rate > 0 ? Math.round(rate * 1000) / 1000 : 0;
}

// ---- the first bytes ----

/** The container the first bytes announce (pass at least 64, ideally 4096), or null.
 *  ISO-BMFF 'ftyp' (brand 'qt  ' → MOV, else MP4; a QuickTime file without ftyp starting with a
 *  moov/mdat/wide/free atom → MOV), EBML with doctype 'webm' → WEBM else MKV, RIFF....AVI → AVI,
 *  MPEG-TS: 0x47 at every 188th byte (or every 192nd after 4 bytes: M2TS), at least twice, so a
 *  text starting with 'G' is not one. */
export function sniffContainer(head: Uint8Array): VideoContainer | null {
  const ascii = (from: number, length: number): string => String.fromCharCode(...head.subarray(from, from + length));

  if (head.length >= 12 && ascii(4, 4) === 'ftyp') return ascii(8, 4) === 'qt  ' ? 'MOV' : 'MP4';
  if (head.length >= 8 && QUICKTIME_FIRST_ATOMS.has(ascii(4, 4)) && isPlausibleAtomSize(head)) return 'MOV';
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return ebmlDocType(head) === 'webm' ? 'WEBM' : 'MKV';
  }
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'AVI ') return 'AVI';
  if (hasTsSync(head, 0, 188) || hasTsSync(head, 4, 192)) return 'MPEG_TS';
  return null;
}

/** 0x47 at `offset` and every `packet` bytes after it, at least twice within the head. */
function hasTsSync(head: Uint8Array, offset: number, packet: number): boolean {
  if (head.length <= offset + packet) return false;
  for (let at = offset; at < head.length; at += packet) if (head[at] !== 0x47) return false;
  return true;
}

const QUICKTIME_FIRST_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

/** An atom's 32-bit size is at least its 8-byte header (or 0/1, the "to the end"/64-bit forms). */
function isPlausibleAtomSize(head: Uint8Array): boolean {
  const size = ((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0);
  return size === 0 || size === 1 || size >= 8;
}

/** The DocType string (element 0x4282) of an EBML header, or null when it is not in these bytes. */
function ebmlDocType(head: Uint8Array): string | null {
  for (let i = 4; i + 3 < head.length; i++) {
    if (head[i] !== 0x42 || head[i + 1] !== 0x82) continue;
    const first = head[i + 2] ?? 0;
    // The size is an EBML variable-length integer: the leading 1 bit marks its length.
    let length = 1;
    while (length <= 8 && (first & (0x80 >> (length - 1))) === 0) length++;
    if (length > 8 || i + 2 + length > head.length) return null;
    let size = first & (0xff >> length);
    for (let k = 1; k < length; k++) size = size * 256 + (head[i + 2 + k] ?? 0);
    const start = i + 2 + length;
    if (size > 64 || start + size > head.length) return null;
    return String.fromCharCode(...head.subarray(start, start + size)).replace(/\0+$/, '');
  }
  return null;
}

/** The first `bytes` bytes of a file (fewer when it is shorter). */
export async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

// ---- reading ffprobe's loosely typed JSON (numbers often arrive as strings) ----

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
function num(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}
function int(value: unknown): number | null {
  const n = num(value);
  return n === null ? null : Math.round(n);
}
