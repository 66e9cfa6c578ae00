// Media's MikroORM entities: the tables' shapes for the ORM (tenant filter, schema checks).
// Reads and writes go through set-based SQL (every statement names tenant_id); views.ts
// parses their rows at the edge.
import { defineEntity, p } from '@mikro-orm/postgresql';
import { tenantFilter } from '@lectern/kernel';

export const VideoAssetSchema = defineEntity({
  name: 'VideoAsset',
  tableName: 'video_assets',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    seq: p.bigint('number').persist(false),
    title: p.string(),
    filename: p.string(),
    status: p.string(),
    failureReason: p.text().nullable(),
    sizeBytes: p.bigint('number'),
    uploadedBytes: p.bigint('number'),
    uploadParts: p.json<unknown>(),
    uploadExpiresAt: p.datetime().nullable(),
    container: p.string().nullable(),
    durationSeconds: p.double().nullable(),
    width: p.integer().nullable(),
    height: p.integer().nullable(),
    renditions: p.json<unknown>(),
    thumbnails: p.json<unknown>(),
    run: p.string().nullable(),
    processingRun: p.string().nullable(),
    processingPercent: p.integer(),
    processingAttempts: p.integer(),
    processingStartedAt: p.datetime().nullable(),
    processedAt: p.datetime().nullable(),
    storedBytes: p.bigint('number'),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const VideoCaptionSchema = defineEntity({
  name: 'VideoCaption',
  tableName: 'video_captions',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    videoId: p.uuid().primary(),
    language: p.string().primary(),
    label: p.string(),
    cues: p.integer(),
    sizeBytes: p.bigint('number'),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const MediaSettingsSchema = defineEntity({
  name: 'MediaSettings',
  tableName: 'media_settings',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    maxUploadBytes: p.bigint('number'),
    allowedContainers: p.array().$type<string[]>(),
    updatedBy: p.uuid().nullable(),
    updatedAt: p.datetime(),
  },
});

export const PublishedVideoSchema = defineEntity({
  name: 'PublishedVideo',
  tableName: 'published_videos',
  filters: tenantFilter,
  properties: {
    tenantId: p.uuid().primary(),
    videoId: p.uuid().primary(),
    versionId: p.uuid().primary(),
    courseId: p.uuid(),
  },
});

export const entities = [VideoAssetSchema, VideoCaptionSchema, MediaSettingsSchema, PublishedVideoSchema];
