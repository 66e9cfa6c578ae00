// The playlists Lectern writes itself (ffmpeg writes the renditions' media playlists):
// - the master playlist of a run, from the renditions the transcode recorded and the video's
//   captions (an EXT-X-MEDIA SUBTITLES group; written again whenever captions change);
// - a caption's one-segment WebVTT media playlist (HLS subtitles must be playlists).
// Variant and caption URIs are relative, so they resolve under the signed playback prefix
// (signing.ts): `<rendition>/index.m3u8`, `../captions/<language>.m3u8`.
import type { RenditionView } from '../../views.ts';

export interface CaptionTrack {
  language: string;
  label: string;
}

const quoted = (s: string) => `"${s.replace(/["\r\n]/g, '')}"`;

export function masterPlaylist(renditions: readonly (RenditionView & { codecs?: string | null })[], captions: readonly CaptionTrack[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const [i, c] of captions.entries()) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME=${quoted(c.label)},LANGUAGE=${quoted(c.language)},DEFAULT=${i === 0 ? 'YES' : 'NO'},AUTOSELECT=YES,URI=${quoted(`../captions/${c.language}.m3u8`)}`,
    );
  }
  const ordered = [...renditions].sort((a, b) => a.bandwidth - b.bandwidth);
  for (const r of ordered) {
    const attrs = [`BANDWIDTH=${r.bandwidth}`, `RESOLUTION=${r.width}x${r.height}`];
    if (r.codecs) attrs.push(`CODECS=${quoted(r.codecs)}`);
    if (captions.length) attrs.push('SUBTITLES="subs"');
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, r.playlist);
  }
  return `${lines.join('\n')}\n`;
}

export function captionPlaylist(language: string, durationSeconds: number): string {
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(durationSeconds))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXTINF:${durationSeconds.toFixed(3)},`,
    `${language}.vtt`,
    '#EXT-X-ENDLIST',
    '',
  ].join('\n');
}
