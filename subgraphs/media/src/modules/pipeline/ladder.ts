// The HLS "ladder": which renditions (picture sizes and bitrates) a source is transcoded into, so
// a player can switch between them as bandwidth changes. Pure: a source size in, renditions out.
//
// The rungs are named after the short side of the displayed picture (240p … 1080p), as players
// and video sites do: a landscape 1920x1080 source gets 240p…1080p at 16:9; a portrait 720x1280
// phone video gets 240p (240x426) … 720p (720x1280), not a 1080p rung 608 px wide that would throw
// away resolution. For landscape video the short side IS the height, so this is the usual
// "rung height ≤ source height" rule. Never upscaled; a source below 240p gets one rung at its
// own (even) size.
//
// Bitrates: each rung has a reference bitrate for a 16:9 picture (Apple's HLS authoring guidance,
// rounded); a rung's video bitrate scales with its actual pixel count (a 4:3 480p is 640x480, not
// 854x480, and needs less). maxrate/bufsize bound the peaks (VBV) so segments stay near BANDWIDTH.

export interface Rendition {
  /** '240p', '360p', … (also the rendition's folder in the HLS output) */
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  maxrateKbps: number;
  bufsizeKbits: number;
  audioKbps: number;
}

interface Rung {
  /** The short side of the picture. */
  lines: number;
  /** Video kbps for the 16:9 picture of this rung. */
  referenceKbps: number;
  audioKbps: number;
}

/** The rungs, smallest first: the short side and the 16:9 reference bitrate. */
export const LADDER_RUNGS: readonly Rung[] = [
  { lines: 240, referenceKbps: 400, audioKbps: 64 },
  { lines: 360, referenceKbps: 800, audioKbps: 96 },
  { lines: 480, referenceKbps: 1400, audioKbps: 128 },
  { lines: 720, referenceKbps: 2800, audioKbps: 128 },
  { lines: 1080, referenceKbps: 5000, audioKbps: 160 },
];

/** maxrate = videoKbps × this; bufsize = videoKbps × BUFSIZE_FACTOR (about 1.5 s of video). */
const MAXRATE_FACTOR = 1.07;
const BUFSIZE_FACTOR = 1.5;
/** No rendition gets less than this, however small its picture. */
const MIN_VIDEO_KBPS = 100;

/** The HLS ladder for a source's DISPLAYED size (see probe.ts displayedSize): the rungs whose short
 *  side ≤ the source's short side, sizes keeping the aspect ratio in even numbers, never larger
 *  than the source; at least one rung. Throws on a size that is not positive. */
export function chooseLadder(source: { width: number; height: number }): Rendition[] {
  const { width, height } = source;
  if (!(Number.isFinite(width) && Number.isFinite(height) && width >= 2 && height >= 2)) {
    throw new Error(`cannot build a ladder for a ${width}x${height} picture: both sides must be at least 2 pixels`);
  }
  const portrait = height > width;
  const short = Math.min(width, height);
  const long = Math.max(width, height);

  const sized = (lines: number): { width: number; height: number } => {
    const shortSide = Math.min(lines, floorEven(short));
    const longSide = Math.min(roundEven((long * lines) / short), floorEven(long));
    return portrait ? { width: shortSide, height: longSide } : { width: longSide, height: shortSide };
  };

  const rungs = LADDER_RUNGS.filter((rung) => rung.lines <= short);
  if (rungs.length === 0) {
    // Smaller than the first rung: one rendition at the source's own size.
    const first = LADDER_RUNGS[0] as Rung;
    const size = sized(floorEven(short));
    return [rendition(`${Math.min(size.width, size.height)}p`, size, first)];
  }
  return rungs.map((rung) => rendition(`${rung.lines}p`, sized(rung.lines), rung));
}

function rendition(name: string, size: { width: number; height: number }, rung: Rung): Rendition {
  const referencePixels = roundEven((rung.lines * 16) / 9) * rung.lines;
  const videoKbps = Math.max(MIN_VIDEO_KBPS, Math.round((rung.referenceKbps * size.width * size.height) / referencePixels));
  return {
    name,
    width: size.width,
    height: size.height,
    videoKbps,
    maxrateKbps: Math.round(videoKbps * MAXRATE_FACTOR),
    bufsizeKbits: Math.round(videoKbps * BUFSIZE_FACTOR),
    audioKbps: rung.audioKbps,
  };
}

function roundEven(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}
function floorEven(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}
