// Rows of media's raw SQL as the values resolvers and services work with: parsed once, at the
// edge (timestamps to Dates, bigints to numbers, jsonb to typed arrays).
import { optionalTimestamp, timestamp } from '@lectern/kernel/rows';
import type { VideoStatus } from '@lectern/contracts/media';

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | null => (v == null ? null : Number(v));
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

/** One object a PATCH of the upload stored, in order of offset. */
export interface UploadPart {
  key: string;
  offset: number;
  size: number;
}

export interface RenditionView {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  /** RFC 6381 codecs of the variant (from ffmpeg's own master playlist), when known. */
  codecs: string | null;
  playlist: string;
  segments: number;
}

export interface ThumbnailView {
  file: string;
  timeSeconds: number;
}

export interface VideoView {
  id: string;
  tenantId: string;
  seq: number;
  title: string;
  filename: string;
  status: VideoStatus;
  failureReason: string | null;
  sizeBytes: number;
  uploadedBytes: number;
  uploadParts: UploadPart[];
  uploadExpiresAt: Date | null;
  container: string | null;
  durationSeconds: number | null;
  width: number | null;
  height: number | null;
  renditions: RenditionView[];
  thumbnails: ThumbnailView[];
  run: string | null;
  processingRun: string | null;
  processingPercent: number;
  processingAttempts: number;
  processingStartedAt: Date | null;
  processedAt: Date | null;
  storedBytes: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const videoRow = (r: Row): VideoView => ({
  id: String(r.id),
  tenantId: String(r.tenant_id),
  seq: num(r.seq),
  title: String(r.title),
  filename: String(r.filename),
  status: r.status as VideoStatus,
  failureReason: (r.failure_reason as string | null) ?? null,
  sizeBytes: num(r.size_bytes),
  uploadedBytes: num(r.uploaded_bytes),
  uploadParts: json<UploadPart[]>(r.upload_parts),
  uploadExpiresAt: optionalTimestamp(r.upload_expires_at),
  container: (r.container as string | null) ?? null,
  durationSeconds: optNum(r.duration_seconds),
  width: optNum(r.width),
  height: optNum(r.height),
  renditions: json<RenditionView[]>(r.renditions),
  thumbnails: json<ThumbnailView[]>(r.thumbnails),
  run: (r.run as string | null) ?? null,
  processingRun: (r.processing_run as string | null) ?? null,
  processingPercent: num(r.processing_percent),
  processingAttempts: num(r.processing_attempts),
  processingStartedAt: optionalTimestamp(r.processing_started_at),
  processedAt: optionalTimestamp(r.processed_at),
  storedBytes: num(r.stored_bytes),
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: timestamp(r.created_at),
  updatedAt: timestamp(r.updated_at),
});

export interface CaptionView {
  videoId: string;
  language: string;
  label: string;
  cues: number;
  sizeBytes: number;
  updatedAt: Date;
}

export const captionRow = (r: Row): CaptionView => ({
  videoId: String(r.video_id),
  language: String(r.language),
  label: String(r.label),
  cues: num(r.cues),
  sizeBytes: num(r.size_bytes),
  updatedAt: timestamp(r.updated_at),
});

/** A page of videos as loaders.ts videoPage answers it. */
export type VideoConnection = import('@lectern/kernel').Connection<VideoView>;
