// Resumable uploads: the tus 1.0.0 protocol (core, plus the termination and expiration
// extensions) on /media/uploads/<tenantId>/<videoId>/<expiry>/<signature>, the signed URL
// `createVideoUpload` hands out (playback/signing.ts). Any tus client resumes an upload from it
// (tus-js-client: `uploadUrl`); so can curl:
//   HEAD   → Upload-Offset (bytes stored so far), Upload-Length, Upload-Expires
//   PATCH  → Content-Type application/offset+octet-stream, Upload-Offset = the current offset;
//            the body's bytes are appended; 204 with the new Upload-Offset
//   DELETE → abandons the upload (the video and whatever was stored go)
//   OPTIONS→ Tus-Version, Tus-Extension, CORS (browsers upload from the app's origin)
//
// How a PATCH is stored (any number of replicas, any storage driver, no lock held while bytes
// arrive): the body is spooled to a local file, stored as ONE part object
// (`upload/part_<offset>_<nonce>`), then a single conditional UPDATE appends it to the video's
// parts only if the offset is still the one the PATCH started from. Two PATCHes racing at one
// offset: one wins, the other gets 409 and its object is deleted. A client that loses its
// connection mid-body keeps what arrived: those bytes are stored and the offset moves, so HEAD
// tells it where to resume. When the last byte arrives the same UPDATE makes the video
// PROCESSING and records it in pending_transcodes; the transcode job is enqueued after (the
// worker's sweep enqueues it later if Redis did not take it).
//
// The file's type is checked from its bytes, not its name: the first PATCH must bring the
// first 64 bytes (or the whole file when smaller), and a file whose first bytes announce no
// video container, or one the organization does not accept, is refused with 415 and the reason
// as the body; the video becomes FAILED with the same reason. ffprobe, in the worker, is the
// authority on the whole file.
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '@lectern/kernel';
import type { Route } from '@lectern/kernel/http';
import { UnitOfWork } from '@lectern/kernel/uow';
import type { ObjectStorage } from '@lectern/storage';
import { sniffContainer } from '../pipeline/probe.ts';
import type { UrlSigner } from '../playback/signing.ts';
import { uploadPartKey } from '../video/keys.ts';
import { videoRow, type VideoView } from '../../views.ts';
import { settingsOf } from '../video/settings.ts';
import type { Transcodes } from '../transcode/transcode.job.ts';

export const UPLOADS_PATH = '/media/uploads/';
const TUS_VERSION = '1.0.0';
/** Bytes the first PATCH must bring (or the whole file when it is smaller): what the type is told from. */
export const SNIFF_BYTES = 64;

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'HEAD, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Tus-Resumable, Upload-Offset, Upload-Length, Upload-Metadata, Content-Type, X-HTTP-Method-Override, X-Requested-With',
  'Access-Control-Expose-Headers': 'Tus-Resumable, Tus-Version, Tus-Extension, Upload-Offset, Upload-Length, Upload-Expires',
  'Access-Control-Max-Age': '86400',
};

export interface UploadDeps {
  orm: MikroORM;
  storage: ObjectStorage;
  signer: UrlSigner;
  transcodes: Transcodes;
  log: Logger;
  /** Local folder PATCH bodies are spooled to. */
  workDir: string;
  defaults: { maxUploadBytes: number; allowedContainers: readonly string[] };
  /** Tells the video's subscribers it changed (upload complete, or refused). */
  changed(tenantId: string, videoId: string): void;
}

function reply(res: http.ServerResponse, status: number, headers: Record<string, string | number> = {}, body?: string) {
  if (res.headersSent) return;
  res.writeHead(status, { ...CORS, 'Tus-Resumable': TUS_VERSION, 'Cache-Control': 'no-store', ...(body ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}), ...headers });
  res.end(body);
}

const expiresHeader = (v: VideoView): Record<string, string> => (v.uploadExpiresAt ? { 'Upload-Expires': v.uploadExpiresAt.toUTCString() } : {});

async function load(uow: UnitOfWork, videoId: string): Promise<VideoView | null> {
  const [row] = await uow.statement(`select * from video_assets where tenant_id = ? and id = ?`, [uow.tenantId, videoId]);
  return row ? videoRow(row) : null;
}

export function uploadRoute(deps: UploadDeps): Route {
  return async (req, res, url) => {
    if (!url.pathname.startsWith(UPLOADS_PATH)) return false;
    const method = String(req.headers['x-http-method-override'] ?? req.method).toUpperCase();
    if (method === 'OPTIONS') {
      reply(res, 204, { 'Tus-Version': TUS_VERSION, 'Tus-Extension': 'termination,expiration', 'Tus-Max-Size': deps.defaults.maxUploadBytes });
      return true;
    }
    const checked = deps.signer.verify('upload', url.pathname.slice(UPLOADS_PATH.length).split('/'));
    if (!checked.ok) {
      req.resume();
      // An expired upload URL is gone for good (tus: 410); anything else was never ours to give.
      reply(res, checked.reason === 'expired' ? 410 : 403, {}, `This upload URL is not valid (${checked.reason})`);
      return true;
    }
    if (req.headers['tus-resumable'] !== TUS_VERSION) {
      req.resume();
      reply(res, 412, { 'Tus-Version': TUS_VERSION }, 'Tus-Resumable: 1.0.0 is required');
      return true;
    }
    const { tenantId, videoId } = checked.scope;
    const uow = new UnitOfWork(deps.orm, tenantId);
    try {
      if (method === 'HEAD') await head(uow, videoId, res);
      else if (method === 'PATCH') await patch(deps, uow, videoId, req, res);
      else if (method === 'DELETE') await terminate(deps, uow, videoId, req, res);
      else {
        req.resume();
        reply(res, 405, { Allow: 'HEAD, PATCH, DELETE, OPTIONS' }, 'Method not allowed');
      }
    } catch (err) {
      deps.log.error({ err, videoId, tenantId }, 'upload request failed');
      req.resume();
      reply(res, 503, { 'Retry-After': 5 }, 'The upload could not be stored right now; resume it in a moment');
    } finally {
      await uow.commit();
    }
    return true;
  };
}

async function head(uow: UnitOfWork, videoId: string, res: http.ServerResponse) {
  const v = await load(uow, videoId);
  if (!v) return reply(res, 404);
  if (v.status === 'FAILED' && v.uploadedBytes < v.sizeBytes) return reply(res, 410, { 'Upload-Offset': v.uploadedBytes, 'Upload-Length': v.sizeBytes });
  reply(res, 200, { 'Upload-Offset': v.uploadedBytes, 'Upload-Length': v.sizeBytes, ...expiresHeader(v) });
}

async function patch(deps: UploadDeps, uow: UnitOfWork, videoId: string, req: http.IncomingMessage, res: http.ServerResponse) {
  if (req.headers['content-type'] !== 'application/offset+octet-stream') {
    req.resume();
    return reply(res, 415, {}, 'Content-Type must be application/offset+octet-stream');
  }
  const offset = Number(req.headers['upload-offset']);
  if (!Number.isSafeInteger(offset) || offset < 0) {
    req.resume();
    return reply(res, 400, {}, 'Upload-Offset must be a non-negative integer');
  }
  const v = await load(uow, videoId);
  if (!v) {
    req.resume();
    return reply(res, 404);
  }
  if (v.status !== 'UPLOADING') {
    req.resume();
    if (v.status === 'FAILED') return reply(res, 410, {}, v.failureReason ?? 'This upload failed');
    return reply(res, 409, { 'Upload-Offset': v.uploadedBytes }, 'This upload is complete');
  }
  if (v.uploadExpiresAt && v.uploadExpiresAt.getTime() <= Date.now()) {
    req.resume();
    return reply(res, 410, {}, 'This upload expired; start a new one');
  }
  if (offset !== v.uploadedBytes) {
    req.resume();
    return reply(res, 409, { 'Upload-Offset': v.uploadedBytes }, `Upload-Offset is ${offset} but ${v.uploadedBytes} bytes are stored: resume from there`);
  }
  const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  const remaining = v.sizeBytes - offset;
  if (declared !== null && declared > remaining) {
    req.resume();
    return reply(res, 413, {}, `The body (${declared} bytes) goes past the upload's length (${remaining} bytes remain)`);
  }

  await mkdir(deps.workDir, { recursive: true });
  const spool = join(deps.workDir, `patch-${randomBytes(8).toString('hex')}`);
  try {
    const received = await spoolBody(req, spool, remaining);
    if (received === 'too-long') return reply(res, 413, {}, `The body goes past the upload's length (${remaining} bytes remain)`);
    if (received === 0) return reply(res, 204, { 'Upload-Offset': offset, ...expiresHeader(v) });
    if (offset === 0) {
      if (received < Math.min(SNIFF_BYTES, v.sizeBytes)) {
        return reply(res, 400, {}, `The first request of an upload must bring at least its first ${SNIFF_BYTES} bytes (the file's type is told from them)`);
      }
      const refusal = await checkType(deps, uow, v, spool);
      if (refusal) {
        await uow.statement(
          `with f as (update video_assets set status = 'FAILED', failure_reason = ?, updated_at = now() where tenant_id = ? and id = ? and status = 'UPLOADING' returning id)
           delete from open_uploads where video_id in (select id from f)`,
          [refusal, uow.tenantId, videoId],
        );
        deps.log.info({ videoId, tenantId: uow.tenantId, reason: refusal }, 'upload refused');
        deps.changed(v.tenantId, videoId);
        return reply(res, 415, {}, refusal);
      }
    }
    const key = uploadPartKey(v.tenantId, videoId, offset, randomBytes(4).toString('hex'));
    await deps.storage.putFile(key, spool, { contentType: 'application/octet-stream' });
    const [row] = await uow.statement<{ uploaded_bytes: string; status: string }>(
      `with u as (
         update video_assets
            set uploaded_bytes = uploaded_bytes + ?,
                upload_parts = upload_parts || jsonb_build_array(jsonb_build_object('key', ?::text, 'offset', ?::bigint, 'size', ?::bigint)),
                stored_bytes = stored_bytes + ?,
                status = case when uploaded_bytes + ? = size_bytes then 'PROCESSING' else status end,
                updated_at = now()
          where tenant_id = ? and id = ? and status = 'UPLOADING' and uploaded_bytes = ?
          returning id, tenant_id, uploaded_bytes, status),
       p as (insert into pending_transcodes (video_id, organization_id) select id, tenant_id from u where status = 'PROCESSING' on conflict do nothing),
       o as (delete from open_uploads where video_id in (select id from u where status = 'PROCESSING'))
       select uploaded_bytes, status from u`,
      [received, key, offset, received, received, received, uow.tenantId, videoId, offset],
    );
    if (!row) {
      await deps.storage.delete([key]).catch(() => {});
      const now = await load(uow, videoId);
      return reply(res, 409, now ? { 'Upload-Offset': now.uploadedBytes } : {}, 'Another request stored bytes at this offset first: HEAD, then resume');
    }
    if (row.status === 'PROCESSING') {
      deps.log.info({ videoId, tenantId: uow.tenantId, bytes: v.sizeBytes }, 'upload complete; transcoding');
      await deps.transcodes.enqueue(v.tenantId, videoId);
      deps.changed(v.tenantId, videoId);
    }
    reply(res, 204, { 'Upload-Offset': Number(row.uploaded_bytes), ...expiresHeader(v) });
  } finally {
    await rm(spool, { force: true });
  }
}

/**
 * Writes the request body to `path`, at most `limit` bytes. A client that disconnects midway
 * leaves what arrived (tus: those bytes count). 'too-long' when the body goes past `limit`.
 */
async function spoolBody(req: http.IncomingMessage, path: string, limit: number): Promise<number | 'too-long'> {
  let received = 0;
  let tooLong = false;
  const out = createWriteStream(path);
  const counted = async function* () {
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (received + chunk.length > limit) {
          tooLong = true;
          req.resume();
          return;
        }
        received += chunk.length;
        yield chunk;
      }
    } catch {
      // The client went away: keep what arrived.
    }
  };
  await pipeline(counted, out);
  return tooLong ? 'too-long' : received;
}

/** Why the file whose first bytes are in `path` is refused, or null when its container is accepted. */
async function checkType(deps: UploadDeps, uow: UnitOfWork, v: VideoView, path: string): Promise<string | null> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(4096);
  let n: number;
  try {
    ({ bytesRead: n } = await fh.read(head, 0, head.length, 0));
  } finally {
    await fh.close();
  }
  const container = sniffContainer(head.subarray(0, n));
  if (!container) {
    return `The file is not a video: its first bytes match none of the video formats Lectern accepts (MP4, MOV, WebM, Matroska, AVI, MPEG-TS), whatever its name ("${v.filename}") says`;
  }
  const settings = await settingsOf((sql, params) => uow.statement(sql, params), v.tenantId, deps.defaults);
  if (!settings.allowedContainers.includes(container)) {
    return `${container} videos are not accepted by your organization (accepted: ${settings.allowedContainers.join(', ')})`;
  }
  await uow.statement(`update video_assets set container = ? where tenant_id = ? and id = ?`, [container, uow.tenantId, v.id]);
  return null;
}

async function terminate(deps: UploadDeps, uow: UnitOfWork, videoId: string, req: http.IncomingMessage, res: http.ServerResponse) {
  req.resume();
  const v = await load(uow, videoId);
  if (!v) return reply(res, 404);
  if (v.status !== 'UPLOADING' && v.status !== 'FAILED') return reply(res, 409, {}, 'The upload is complete; delete the video instead');
  const [gone] = await uow.statement(
    `with d as (delete from video_assets where tenant_id = ? and id = ? and status in ('UPLOADING', 'FAILED') returning id, tenant_id),
          o as (delete from open_uploads where video_id in (select id from d))
     insert into pending_purges (video_id, organization_id) select id, tenant_id from d on conflict do nothing returning video_id`,
    [uow.tenantId, videoId],
  );
  if (gone) await deps.transcodes.purge(v.tenantId, videoId);
  reply(res, 204);
}
