// A small HLS playlist reader (RFC 8216), enough to check what ffmpeg wrote and to test it: the
// variants of a master playlist, the segments of a media playlist. No dependency. It reads only
// the tags the pipeline writes and relies on; anything else is skipped.

export interface MasterPlaylist {
  variants: { uri: string; bandwidth: number; width: number | null; height: number | null; codecs: string | null }[];
}

export interface MediaPlaylist {
  targetDuration: number;
  segments: { uri: string; duration: number }[];
  endList: boolean;
}

/** Reads a master playlist. Throws an Error saying what is wrong when the text is not one (no
 *  #EXTM3U first line, a media playlist, a variant without BANDWIDTH or URI, no variant). */
export function parseMaster(text: string): MasterPlaylist {
  const lines = playlistLines(text, 'master');
  const variants: MasterPlaylist['variants'] = [];
  for (let i = 1; i < lines.length; i++) {
    const { text: line, number } = lines[i] as Line;
    if (line.startsWith('#EXTINF')) throw new Error(`not a master playlist: line ${number} has #EXTINF (this is a media playlist)`);
    if (!line.startsWith('#EXT-X-STREAM-INF:')) continue;
    const attributes = parseAttributes(line.slice('#EXT-X-STREAM-INF:'.length));
    const bandwidth = Number(attributes.get('BANDWIDTH'));
    if (!Number.isInteger(bandwidth) || bandwidth <= 0) throw new Error(`master playlist line ${number}: the variant has no valid BANDWIDTH`);
    const resolution = /^(\d+)x(\d+)$/.exec(attributes.get('RESOLUTION') ?? '');
    const uriLine = nextUri(lines, i);
    if (uriLine === null) throw new Error(`master playlist line ${number}: #EXT-X-STREAM-INF is not followed by a URI`);
    variants.push({
      uri: uriLine.text,
      bandwidth,
      width: resolution ? Number(resolution[1]) : null,
      height: resolution ? Number(resolution[2]) : null,
      codecs: attributes.get('CODECS') ?? null,
    });
  }
  if (variants.length === 0) throw new Error('not a master playlist: it has no #EXT-X-STREAM-INF variant');
  return { variants };
}

/** Reads a media playlist. Throws an Error saying what is wrong when the text is not one (no
 *  #EXTM3U first line, a master playlist, no #EXT-X-TARGETDURATION, #EXTINF without a URI). */
export function parseMedia(text: string): MediaPlaylist {
  const lines = playlistLines(text, 'media');
  let targetDuration: number | null = null;
  let endList = false;
  const segments: MediaPlaylist['segments'] = [];
  for (let i = 1; i < lines.length; i++) {
    const { text: line, number } = lines[i] as Line;
    if (line.startsWith('#EXT-X-STREAM-INF')) throw new Error(`not a media playlist: line ${number} has #EXT-X-STREAM-INF (this is a master playlist)`);
    if (line.startsWith('#EXT-X-TARGETDURATION:')) {
      targetDuration = Number(line.slice('#EXT-X-TARGETDURATION:'.length));
      if (!Number.isInteger(targetDuration) || targetDuration < 0) throw new Error(`media playlist line ${number}: bad #EXT-X-TARGETDURATION`);
    } else if (line === '#EXT-X-ENDLIST') {
      endList = true;
    } else if (line.startsWith('#EXTINF:')) {
      const duration = Number(line.slice('#EXTINF:'.length).split(',')[0]);
      if (!Number.isFinite(duration) || duration < 0) throw new Error(`media playlist line ${number}: bad #EXTINF duration`);
      const uriLine = nextUri(lines, i);
      if (uriLine === null) throw new Error(`media playlist line ${number}: #EXTINF is not followed by a URI`);
      segments.push({ uri: uriLine.text, duration });
    }
  }
  if (targetDuration === null) throw new Error('not a media playlist: it has no #EXT-X-TARGETDURATION');
  return { targetDuration, segments, endList };
}

interface Line {
  text: string;
  /** 1-based line number in the original text. */
  number: number;
}

/** The non-blank lines, trimmed; throws unless the first one is #EXTM3U. */
function playlistLines(text: string, kind: 'master' | 'media'): Line[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n|\r/)
    .map((line, index) => ({ text: line.trim(), number: index + 1 }))
    .filter((line) => line.text !== '');
  if (lines[0]?.text !== '#EXTM3U') throw new Error(`not an HLS ${kind} playlist: the first line is not #EXTM3U`);
  return lines;
}

/** The URI line after the tag at `index`: the next line that is not a tag or comment. */
function nextUri(lines: Line[], index: number): Line | null {
  for (let k = index + 1; k < lines.length; k++) {
    const line = lines[k] as Line;
    if (!line.text.startsWith('#')) return line;
    if (line.text.startsWith('#EXTINF') || line.text.startsWith('#EXT-X-STREAM-INF')) return null;
  }
  return null;
}

/** An attribute list: KEY=value pairs separated by commas; quoted values may contain commas. */
export function parseAttributes(list: string): Map<string, string> {
  const attributes = new Map<string, string>();
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  for (const match of list.matchAll(pattern)) {
    const value = match[2] ?? '';
    attributes.set(match[1] as string, value.startsWith('"') ? value.slice(1, -1) : value);
  }
  return attributes;
}
