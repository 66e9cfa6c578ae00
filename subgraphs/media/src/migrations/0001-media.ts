// Media's tables. Every table but `pending_transcodes` and `pending_purges` is a tenant table
// (RLS via h.tenantTable) and every key carries tenant_id.
//
// - video_assets: a video from its upload to its HLS ladder. While UPLOADING it holds the tus
//   upload's state (declared length, bytes received, the part objects received so far, in
//   order); PROCESSING → READY records what the transcode produced (duration, size, renditions,
//   thumbnails) and `run`, the folder of the one complete output (a killed run's folder is
//   never pointed at, and is deleted once another run succeeds).
// - video_captions: WebVTT captions per video and language (the text lives in object storage).
// - media_settings: per organization, the largest upload and the containers it accepts (no row:
//   the defaults from the environment).
// - published_videos: the projection of catalog's CoursePublished: which videos are in a
//   version that was published (a learner may play those; catalog's readers see every version
//   ever published, so rows are never removed by an unpublish).
// - pending_transcodes / pending_purges: ids of videos waiting to be transcoded / whose objects
//   must still be deleted, across organizations, so the worker's sweep can (re)enqueue the work
//   whose job Redis never got or lost (RLS hides every tenant row from a process without a
//   tenant). Ids only; a row goes when its work is done.
// - open_uploads: ids and expiries of uploads still UPLOADING, across organizations, so the
//   sweep can fail the expired ones and delete their parts. A row goes when its upload ends.
import type { Migration } from '@lectern/kernel/db';

export const m0001: Migration = {
  id: '0001-media',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('video_assets')} (
         id uuid PRIMARY KEY,
         tenant_id uuid NOT NULL,
         seq bigserial NOT NULL,
         title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
         filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
         status text NOT NULL CHECK (status IN ('UPLOADING', 'PROCESSING', 'READY', 'FAILED')),
         failure_reason text,
         size_bytes bigint NOT NULL CHECK (size_bytes > 0),
         uploaded_bytes bigint NOT NULL DEFAULT 0 CHECK (uploaded_bytes BETWEEN 0 AND size_bytes),
         upload_parts jsonb NOT NULL DEFAULT '[]',
         upload_expires_at timestamptz,
         container text,
         duration_seconds double precision,
         width integer,
         height integer,
         renditions jsonb NOT NULL DEFAULT '[]',
         thumbnails jsonb NOT NULL DEFAULT '[]',
         run text,
         processing_run text,
         processing_percent integer NOT NULL DEFAULT 0 CHECK (processing_percent BETWEEN 0 AND 100),
         processing_attempts integer NOT NULL DEFAULT 0,
         processing_started_at timestamptz,
         processed_at timestamptz,
         stored_bytes bigint NOT NULL DEFAULT 0,
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT video_assets_tenant_id_uq UNIQUE (tenant_id, id),
         CONSTRAINT video_assets_ready CHECK (status <> 'READY' OR (run IS NOT NULL AND duration_seconds IS NOT NULL))
       )`,
      `CREATE INDEX video_assets_list ON ${t('video_assets')} (tenant_id, seq)`,
      ...h.tenantTable('video_assets'),

      `CREATE TABLE ${t('video_captions')} (
         tenant_id uuid NOT NULL,
         video_id uuid NOT NULL,
         language text NOT NULL CHECK (length(language) BETWEEN 2 AND 35),
         label text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
         cues integer NOT NULL,
         size_bytes bigint NOT NULL,
         created_by uuid,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, video_id, language),
         FOREIGN KEY (tenant_id, video_id) REFERENCES ${t('video_assets')} (tenant_id, id) ON DELETE CASCADE
       )`,
      ...h.tenantTable('video_captions'),

      `CREATE TABLE ${t('media_settings')} (
         tenant_id uuid PRIMARY KEY,
         max_upload_bytes bigint NOT NULL CHECK (max_upload_bytes > 0),
         allowed_containers text[] NOT NULL,
         updated_by uuid,
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
      ...h.tenantTable('media_settings'),

      `CREATE TABLE ${t('published_videos')} (
         tenant_id uuid NOT NULL,
         video_id uuid NOT NULL,
         version_id uuid NOT NULL,
         course_id uuid NOT NULL,
         PRIMARY KEY (tenant_id, video_id, version_id)
       )`,
      ...h.tenantTable('published_videos'),

      `CREATE TABLE ${t('pending_transcodes')} (
         video_id uuid PRIMARY KEY,
         organization_id uuid NOT NULL,
         since timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE ${t('open_uploads')} (
         video_id uuid PRIMARY KEY,
         organization_id uuid NOT NULL,
         expires_at timestamptz NOT NULL
       )`,
      `CREATE INDEX open_uploads_expiry ON ${t('open_uploads')} (expires_at)`,
      `CREATE TABLE ${t('pending_purges')} (
         video_id uuid PRIMARY KEY,
         organization_id uuid NOT NULL,
         since timestamptz NOT NULL DEFAULT now()
       )`,
    ];
  },
};
