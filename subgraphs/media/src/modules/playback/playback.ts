// Signed URLs for what a caller may see, and the route that serves them.
//
// URLs: whoever can see a video (loaders.ts decides: authors, or anyone once the video is in a
// published course version) gets signed URLs for it; there is no second check, because the
// signature IS the permission (signing.ts). A playback URL lives for the video's duration plus
// PLAYBACK_URL_TTL_SECONDS, rounded up to the minute (URLs handed out in the same minute are the
// same, so players and CDNs cache them).
//
// The route, GET/HEAD /media/play/<tenantId>/<videoId>/<expiry>/<signature>/<file>:
// - a signature that does not verify (tampered, expired, another video's or organization's) → 403;
// - only output and caption files (keys.ts PLAYABLE_FILE: never the source or upload parts) → else 404;
// - byte ranges (players seek in segments), CORS for web players, private caching until expiry.
import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@lectern/kernel';
import type { Route } from '@lectern/kernel/http';
import { RangeNotSatisfiableError, contentTypeFor, type ObjectStorage } from '@lectern/storage';
import { PLAYABLE_FILE, videoFolder } from '../video/keys.ts';
import { UPLOADS_PATH } from '../upload/tus.ts';
import type { VideoView } from '../../views.ts';
import type { UrlSigner } from './signing.ts';

export const PLAY_PATH = '/media/play/';

export interface PlaybackSettings {
  /** The public origin (MEDIA_PUBLIC_URL, else the process's own, known once it listens). */
  publicUrl: () => string;
  ttlSeconds: number;
}

/** The signed URLs of one request's videos. */
export class Playback {
  readonly #signer: UrlSigner;
  readonly #origin: () => string;
  readonly #ttl: number;
  constructor(signer: UrlSigner, settings: PlaybackSettings) {
    this.#signer = signer;
    this.#origin = settings.publicUrl;
    this.#ttl = settings.ttlSeconds;
  }

  get #base(): string {
    return this.#origin().replace(/\/+$/, '');
  }

  /** The tus upload URL (valid until the upload expires) and how far it got. */
  upload(v: VideoView) {
    const expiresAt = v.uploadExpiresAt ?? new Date();
    const expires = Math.floor(expiresAt.getTime() / 1000);
    return { url: `${this.#base}${UPLOADS_PATH}${this.#signer.path('upload', { tenantId: v.tenantId, videoId: v.id, expires })}`, offset: v.uploadedBytes, length: v.sizeBytes, expiresAt };
  }

  #expires(v: VideoView): number {
    const seconds = Date.now() / 1000 + this.#ttl + Math.ceil(v.durationSeconds ?? 0);
    return Math.ceil(seconds / 60) * 60;
  }

  /** A signed URL of `file` below the video's folder (READY videos only). */
  #url(v: VideoView, file: string): { url: string; expiresAt: Date } | null {
    if (v.status !== 'READY' || !v.run) return null;
    const expires = this.#expires(v);
    return { url: `${this.#base}${PLAY_PATH}${this.#signer.path('playback', { tenantId: v.tenantId, videoId: v.id, expires })}/${file}`, expiresAt: new Date(expires * 1000) };
  }

  master(v: VideoView) {
    return v.run ? this.#url(v, `${v.run}/master.m3u8`) : null;
  }

  /** A file of the current run (poster.jpg, thumbs/…). */
  file(v: VideoView, relative: string): string | null {
    return v.run ? (this.#url(v, `${v.run}/${relative}`)?.url ?? null) : null;
  }

  caption(v: VideoView, language: string): string | null {
    return this.#url(v, `captions/${language}.vtt`)?.url ?? null;
  }
}

const CORS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS', 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges' };

function refuse(res: http.ServerResponse, status: number, message: string) {
  res.writeHead(status, { ...CORS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(message);
}

/** A single `bytes=` range ({start} or {start, end}), null for none; 'bad' for one we do not serve (several, suffix-less junk). */
function rangeOf(header: string | undefined): { start: number; end?: number } | { suffix: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  if (m[1] === '') return { suffix: Number(m[2]) };
  const start = Number(m[1]);
  if (m[2] === '') return { start };
  const end = Number(m[2]);
  return end < start ? 'bad' : { start, end };
}

export function playbackRoute(deps: { storage: ObjectStorage; signer: UrlSigner; log: Logger }): Route {
  return async (req, res, url) => {
    if (!url.pathname.startsWith(PLAY_PATH)) return false;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'Access-Control-Max-Age': '86400' });
      res.end();
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(res, 405, 'Method not allowed');
      return true;
    }
    const segments = url.pathname.slice(PLAY_PATH.length).split('/');
    const checked = deps.signer.verify('playback', segments.slice(0, 4));
    if (!checked.ok) {
      refuse(res, 403, `This playback URL is not valid (${checked.reason})`);
      return true;
    }
    const file = segments.slice(4).join('/');
    if (!PLAYABLE_FILE.test(file)) {
      refuse(res, 404, 'Not found');
      return true;
    }
    const key = `${videoFolder(checked.scope.tenantId, checked.scope.videoId)}${file}`;
    const maxAge = Math.max(0, checked.scope.expires - Math.floor(Date.now() / 1000));
    let range = rangeOf(req.headers.range);
    if (range === 'bad') range = null; // RFC 9110: a range we do not serve is ignored (the whole file)
    try {
      if (range && 'suffix' in range) {
        const head = await deps.storage.head(key);
        if (!head) return (refuse(res, 404, 'Not found'), true);
        range = { start: Math.max(0, head.size - range.suffix) };
      }
      const obj = await deps.storage.get(key, range ?? undefined);
      if (!obj) return (refuse(res, 404, 'Not found'), true);
      const length = obj.range ? obj.range.end - obj.range.start + 1 : obj.size;
      const headers: Record<string, string | number> = {
        ...CORS,
        'Content-Type': obj.contentType ?? contentTypeFor(file),
        'Content-Length': length,
        'Accept-Ranges': 'bytes',
        'Cache-Control': `private, max-age=${maxAge}`,
        ...(obj.range ? { 'Content-Range': `bytes ${obj.range.start}-${obj.range.end}/${obj.size}` } : {}),
      };
      res.writeHead(obj.range ? 206 : 200, headers);
      if (req.method === 'HEAD') {
        obj.body.destroy();
        res.end();
      } else {
        await pipeline(obj.body, res);
      }
    } catch (err) {
      if (err instanceof RangeNotSatisfiableError) {
        res.writeHead(416, { ...CORS, 'Content-Range': `bytes */${err.size}` });
        res.end();
      } else if (!res.headersSent) {
        deps.log.error({ err, key }, 'playback read failed');
        refuse(res, 503, 'The video cannot be read right now');
      } else {
        res.destroy();
      }
    }
    return true;
  };
}
