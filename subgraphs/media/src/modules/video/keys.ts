// Where a video's objects live in storage. Everything of a video is under its folder
// `<tenantId>/videos/<videoId>/`, so deleting a video is deleting that prefix:
//   upload/part_<offset>_<nonce>   the parts the tus PATCHes stored (until processing joins them)
//   source                          the uploaded file, whole (kept: a rerun starts from it)
//   <run>/...                       one transcode's output (master.m3u8, <rendition>/..., poster.jpg, thumbs/...)
//   captions/<language>.vtt|.m3u8   captions, and their one-segment HLS playlist
// A playback URL's signature covers the video's folder; the playback route serves only the
// output and caption files from it (never the source or upload parts).
import { tenantKey } from '@lectern/storage';

export const videoFolder = (tenantId: string, videoId: string) => `${tenantKey(tenantId, 'videos', videoId)}/`;
export const uploadPartKey = (tenantId: string, videoId: string, offset: number, nonce: string) =>
  tenantKey(tenantId, 'videos', videoId, 'upload', `part_${String(offset).padStart(15, '0')}_${nonce}`);
export const uploadPrefix = (tenantId: string, videoId: string) => `${tenantKey(tenantId, 'videos', videoId, 'upload')}/`;
export const sourceKey = (tenantId: string, videoId: string) => tenantKey(tenantId, 'videos', videoId, 'source');
export const runPrefix = (tenantId: string, videoId: string, run: string) => `${tenantKey(tenantId, 'videos', videoId, run)}/`;
export const captionKey = (tenantId: string, videoId: string, language: string, ext: 'vtt' | 'm3u8') =>
  tenantKey(tenantId, 'videos', videoId, 'captions', `${language}.${ext}`);

/** The files below a video's folder that playback serves: a run's output, and captions. */
export const PLAYABLE_FILE = /^(?:r[0-9a-z]{6,32}\/(?:master\.m3u8|poster\.jpg|thumbs\/thumb_\d{4}\.jpg|[0-9]{2,4}p\/(?:index\.m3u8|init\.mp4|seg_\d{5}\.(?:ts|m4s)))|captions\/[A-Za-z0-9-]{2,35}\.(?:vtt|m3u8))$/;
