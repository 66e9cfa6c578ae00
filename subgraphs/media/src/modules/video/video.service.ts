// Every change to videos: start an upload, rename, delete, captions, and the organization's
// upload rules. Each mutation is idempotent (kernel idempotentWrite: one transaction per key),
// authorized first; expected outcomes are MediaErrors in the payload.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, idempotentWrite, inputId, notFound, type Actor, type Logger, type UnitOfWork } from '@lectern/kernel';
import type { ObjectStorage } from '@lectern/storage';
import { requireAdmin, requireWriter, type Member } from '../../access.ts';
import { mediaError, type MutationResult } from '../../errors.ts';
import type { MediaLoaders } from '../../loaders.ts';
import { videoRow, type VideoView } from '../../views.ts';
import { checkWebVtt, normalizeLanguageTag } from '../pipeline/webvtt.ts';
import { VIDEO_CONTAINERS, type VideoContainer } from '../pipeline/probe.ts';
import { captionPlaylist, masterPlaylist } from '../playback/playlists.ts';
import type { Transcodes } from '../transcode/transcode.job.ts';
import { captionKey, runPrefix } from './keys.ts';
import { settingsOf, type SettingsDefaults } from './settings.ts';

export const MAX_CAPTIONS_BYTES = 1024 * 1024;
const MIN_UPLOAD_LIMIT = 1024 * 1024;
const MAX_UPLOAD_LIMIT = 50 * 1024 ** 3;

export interface VideoServiceDeps {
  actor: Actor;
  uow: UnitOfWork;
  loaders: MediaLoaders;
  storage: ObjectStorage;
  transcodes: Transcodes;
  defaults: SettingsDefaults;
  uploadExpiryHours: number;
  /** Tells the video's subscribers it changed (after the commit). */
  changed(videoId: string): void;
  log: Logger;
}

type Idem = { idempotencyKey: string };

const text = (value: string, field: string, max: number) => {
  const v = value.trim();
  if (v.length < 1 || v.length > max || [...v].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)) throw badInput(`${field} must be 1 to ${max} printable characters`, field);
  return v;
};

export class VideoService {
  readonly #d: VideoServiceDeps;
  constructor(deps: VideoServiceDeps) {
    this.#d = deps;
  }

  #write(actor: Member, mutation: string, input: Idem & Record<string, unknown>, fn: (em: EntityManager, tenantId: string, after: (f: () => Promise<void>) => void) => Promise<MutationResult>): Promise<MutationResult> {
    const later: (() => Promise<void>)[] = [];
    return idempotentWrite(this.#d.uow, actor, mutation, input, (em) => {
      later.length = 0;
      return fn(em, actor.tenantId, (f) => later.push(f));
    })
      .then(async (r) => {
        for (const f of later) await f();
        if (r.videoId && !r.errors.length) this.#d.changed(r.videoId);
        return r;
      })
      .finally(() => {
        this.#d.loaders.video.clearAll();
        this.#d.loaders.captions.clearAll();
      });
  }

  async #locked(em: EntityManager, tenantId: string, videoId: string): Promise<VideoView> {
    const [row] = await em.execute<Record<string, unknown>[]>(`select * from video_assets where tenant_id = ? and id = ? for update`, [tenantId, videoId]);
    if (!row) throw notFound('Video');
    return videoRow(row);
  }

  createVideoUpload(input: Idem & { title: string; filename: string; sizeBytes: number }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireWriter(actor);
    const title = text(input.title, 'title', 200);
    const filename = text(input.filename, 'filename', 255);
    if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes <= 0) throw badInput('sizeBytes must be a whole number of bytes above 0', 'sizeBytes');
    return this.#write(actor, 'createVideoUpload', { ...input, title, filename }, async (em, tenantId) => {
      const settings = await settingsOf((sql, params) => em.execute(sql, params), tenantId, this.#d.defaults);
      if (input.sizeBytes > settings.maxUploadBytes) {
        return { errors: [mediaError('UPLOAD_TOO_LARGE', `The file is ${input.sizeBytes} bytes; your organization accepts at most ${settings.maxUploadBytes}`, 'sizeBytes')] };
      }
      const id = randomUUID();
      await em.execute(
        `with v as (insert into video_assets (id, tenant_id, title, filename, status, size_bytes, upload_expires_at, created_by)
                    values (?, ?, ?, ?, 'UPLOADING', ?, now() + make_interval(hours => ?), ?) returning id, tenant_id, upload_expires_at)
         insert into open_uploads (video_id, organization_id, expires_at) select id, tenant_id, upload_expires_at from v`,
        [id, tenantId, title, filename, input.sizeBytes, this.#d.uploadExpiryHours, actor.kind === 'user' ? actor.userId : null],
      );
      this.#d.log.info({ videoId: id, bytes: input.sizeBytes }, 'video upload started');
      return { videoId: id, errors: [] };
    });
  }

  updateVideoAsset(input: Idem & { id: string; title: string }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireWriter(actor);
    const videoId = inputId(input.id, 'VideoAsset', 'id');
    const title = text(input.title, 'title', 200);
    return this.#write(actor, 'updateVideoAsset', { ...input, title }, async (em, tenantId) => {
      await this.#locked(em, tenantId, videoId);
      await em.execute(`update video_assets set title = ?, updated_at = now() where tenant_id = ? and id = ?`, [title, tenantId, videoId]);
      return { videoId, errors: [] };
    });
  }

  deleteVideoAsset(input: Idem & { id: string }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireWriter(actor);
    const videoId = inputId(input.id, 'VideoAsset', 'id');
    return this.#write(actor, 'deleteVideoAsset', input, async (em, tenantId, after) => {
      await this.#locked(em, tenantId, videoId);
      const [used] = await em.execute<{ n: string }[]>(`select count(*) as n from published_videos where tenant_id = ? and video_id = ?`, [tenantId, videoId]);
      if (Number(used?.n ?? 0) > 0) {
        return { errors: [mediaError('VIDEO_IN_USE', 'The video is in a published course version; publish a version without it before deleting it', 'id')] };
      }
      await em.execute(`delete from video_assets where tenant_id = ? and id = ?`, [tenantId, videoId]);
      await em.execute(`delete from pending_transcodes where video_id = ? and organization_id = ?`, [videoId, tenantId]);
      await em.execute(`delete from open_uploads where video_id = ? and organization_id = ?`, [videoId, tenantId]);
      await em.execute(`insert into pending_purges (video_id, organization_id) values (?, ?) on conflict do nothing`, [videoId, tenantId]);
      after(() => this.#d.transcodes.purge(tenantId, videoId));
      this.#d.log.info({ videoId }, 'video deleted');
      return { deletedId: videoId, errors: [] };
    });
  }

  setVideoCaptions(input: Idem & { videoId: string; language: string; label: string; webvtt: string }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireWriter(actor);
    const videoId = inputId(input.videoId, 'VideoAsset', 'videoId');
    const label = text(input.label, 'label', 100);
    if (Buffer.byteLength(input.webvtt) > MAX_CAPTIONS_BYTES) throw badInput(`webvtt must be at most ${MAX_CAPTIONS_BYTES} bytes`, 'webvtt');
    const language = normalizeLanguageTag(input.language);
    return this.#write(actor, 'setVideoCaptions', { ...input, label }, async (em, tenantId) => {
      const v = await this.#locked(em, tenantId, videoId);
      if (!language) return { videoId, errors: [mediaError('INVALID_LANGUAGE', `"${input.language}" is not a BCP 47 language tag (e.g. en, pt-BR)`, 'language')] };
      const check = checkWebVtt(input.webvtt);
      if (!check.ok) {
        const lines = check.errors.slice(0, 5).map((e) => `line ${e.line}: ${e.message}`);
        return { videoId, errors: [mediaError('INVALID_CAPTIONS', `The WebVTT file is not valid: ${lines.join('; ')}${check.errors.length > 5 ? ` (and ${check.errors.length - 5} more)` : ''}`, 'webvtt')] };
      }
      const bytes = Buffer.byteLength(check.text);
      await this.#d.storage.put(captionKey(tenantId, videoId, language, 'vtt'), check.text, { contentType: 'text/vtt; charset=utf-8' });
      const [old] = await em.execute<{ size_bytes: string }[]>(`select size_bytes from video_captions where tenant_id = ? and video_id = ? and language = ?`, [tenantId, videoId, language]);
      await em.execute(
        `insert into video_captions (tenant_id, video_id, language, label, cues, size_bytes, created_by) values (?, ?, ?, ?, ?, ?, ?)
         on conflict (tenant_id, video_id, language) do update set label = excluded.label, cues = excluded.cues, size_bytes = excluded.size_bytes, updated_at = now()`,
        [tenantId, videoId, language, label, check.cues, bytes, actor.kind === 'user' ? actor.userId : null],
      );
      await em.execute(`update video_assets set stored_bytes = stored_bytes + ?, updated_at = now() where tenant_id = ? and id = ?`, [bytes - Number(old?.size_bytes ?? 0), tenantId, videoId]);
      if (v.status === 'READY' && v.durationSeconds !== null) {
        await this.#d.storage.put(captionKey(tenantId, videoId, language, 'm3u8'), captionPlaylist(language, v.durationSeconds));
        await this.#rewriteMaster(em, v);
      }
      return { videoId, errors: [] };
    });
  }

  removeVideoCaptions(input: Idem & { videoId: string; language: string }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireWriter(actor);
    const videoId = inputId(input.videoId, 'VideoAsset', 'videoId');
    const language = normalizeLanguageTag(input.language) ?? input.language;
    return this.#write(actor, 'removeVideoCaptions', input, async (em, tenantId) => {
      const v = await this.#locked(em, tenantId, videoId);
      const [gone] = await em.execute<{ size_bytes: string }[]>(`delete from video_captions where tenant_id = ? and video_id = ? and language = ? returning size_bytes`, [tenantId, videoId, language]);
      if (!gone) return { videoId, errors: [mediaError('CAPTIONS_NOT_FOUND', `The video has no captions in "${input.language}"`, 'language')] };
      await em.execute(`update video_assets set stored_bytes = greatest(0, stored_bytes - ?), updated_at = now() where tenant_id = ? and id = ?`, [Number(gone.size_bytes), tenantId, videoId]);
      if (v.status === 'READY') await this.#rewriteMaster(em, v);
      await this.#d.storage.delete([captionKey(tenantId, videoId, language, 'vtt'), captionKey(tenantId, videoId, language, 'm3u8')]);
      return { videoId, errors: [] };
    });
  }

  /** The READY video's master playlist with its captions as they are in this transaction. */
  async #rewriteMaster(em: EntityManager, v: VideoView) {
    const captions = await em.execute<{ language: string; label: string }[]>(`select language, label from video_captions where tenant_id = ? and video_id = ? order by language`, [v.tenantId, v.id]);
    await this.#d.storage.put(`${runPrefix(v.tenantId, v.id, v.run!)}master.m3u8`, masterPlaylist(v.renditions, captions), { contentType: 'application/vnd.apple.mpegurl' });
  }

  setMediaSettings(input: Idem & { maxUploadBytes: number; allowedContainers: string[] }): Promise<MutationResult> {
    const { actor } = this.#d;
    requireAdmin(actor);
    if (!Number.isSafeInteger(input.maxUploadBytes) || input.maxUploadBytes < MIN_UPLOAD_LIMIT || input.maxUploadBytes > MAX_UPLOAD_LIMIT) {
      throw badInput(`maxUploadBytes must be a whole number from ${MIN_UPLOAD_LIMIT} to ${MAX_UPLOAD_LIMIT}`, 'maxUploadBytes');
    }
    const containers = [...new Set(input.allowedContainers)].filter((c): c is VideoContainer => (VIDEO_CONTAINERS as readonly string[]).includes(c));
    if (!containers.length) throw badInput('allowedContainers must name at least one container', 'allowedContainers');
    return this.#write(actor, 'setMediaSettings', { ...input, allowedContainers: containers }, async (em, tenantId) => {
      await em.execute(
        `insert into media_settings (tenant_id, max_upload_bytes, allowed_containers, updated_by) values (?, ?, ?::text[], ?)
         on conflict (tenant_id) do update set max_upload_bytes = excluded.max_upload_bytes, allowed_containers = excluded.allowed_containers, updated_by = excluded.updated_by, updated_at = now()`,
        [tenantId, input.maxUploadBytes, `{${containers.join(',')}}`, actor.kind === 'user' ? actor.userId : null],
      );
      return { errors: [] };
    });
  }
}
