// Videos as data: idempotent creation, the list and its batching (100 videos cost the SQL of 1),
// upload expiry, deletion and storage use, who sees what.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf, inTenant } from '@lectern/kernel';
import { captionKey, uploadPartKey, videoFolder } from '../src/modules/video/keys.ts';
import { loadEnv, startMedia } from '../src/server.ts';
import { actor, call, idem, ok, startHarness, until, type Data, type Harness } from './helpers.ts';

let h: Harness;
const org = randomUUID();
const admin = actor({ tenantId: org, roles: ['ORG_ADMIN'] });
const instructor = actor({ tenantId: org, roles: ['INSTRUCTOR'] });
const learner = actor({ tenantId: org, roles: ['LEARNER'] });

const CREATE = `mutation($i: CreateVideoUploadInput!) { createVideoUpload(input: $i) { videoAsset { id status } upload { url length } errors { code } } }`;

beforeAll(async () => {
  h = await startHarness('media-videos', { worker: true });
});
afterAll(async () => {
  await h?.close();
});

describe('createVideoUpload', () => {
  it('is idempotent: a replay answers the same video and URL; who may start one', async () => {
    const input = { title: 'Welcome', filename: 'welcome.mp4', sizeBytes: 1234, idempotencyKey: idem() };
    const a = await ok<Data>(h, instructor, CREATE, { i: input });
    const b = await ok<Data>(h, instructor, CREATE, { i: input });
    expect(b).toEqual(a);
    const reused = await call<Data>(h, instructor, CREATE, { i: { ...input, title: 'Other' } });
    expect(reused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await call<Data>(h, learner, CREATE, { i: { ...input, idempotencyKey: idem() } })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await call<Data>(h, admin, CREATE, { i: { ...input, sizeBytes: 1.5, idempotencyKey: idem() } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sizeBytes' });
    const key = actor({ kind: 'api_key', userId: null, tenantId: org, apiKeyId: randomUUID(), scopes: ['media:write'] });
    expect((await ok<Data>(h, key, CREATE, { i: { ...input, idempotencyKey: idem() } })).createVideoUpload.errors).toEqual([]);
  });

  it('organization rules: the largest upload and accepted containers, ORG_ADMIN only', async () => {
    const SET = `mutation($i: SetMediaSettingsInput!) { setMediaSettings(input: $i) { settings { maxUploadBytes allowedContainers } errors { code } } }`;
    expect((await call<Data>(h, instructor, SET, { i: { maxUploadBytes: 2 ** 20, allowedContainers: ['MP4'], idempotencyKey: idem() } })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const other = randomUUID();
    const otherAdmin = actor({ tenantId: other, roles: ['ORG_ADMIN'] });
    const set = await ok<Data>(h, otherAdmin, SET, { i: { maxUploadBytes: 2 ** 20, allowedContainers: ['WEBM'], idempotencyKey: idem() } });
    expect(set.setMediaSettings.settings).toEqual({ maxUploadBytes: 2 ** 20, allowedContainers: ['WEBM'] });
    const big = await ok<Data>(h, otherAdmin, CREATE, { i: { title: 'Big', filename: 'b.webm', sizeBytes: 2 ** 20 + 1, idempotencyKey: idem() } });
    expect(big.createVideoUpload.errors).toEqual([{ code: 'UPLOAD_TOO_LARGE' }]);
    // An MP4 is refused by the organization that accepts WebM only, from its first bytes.
    const small = await ok<Data>(h, otherAdmin, CREATE, { i: { title: 'Small', filename: 's.webm', sizeBytes: 100, idempotencyKey: idem() } });
    const mp4Head = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(88)]);
    const put = await fetch(small.createVideoUpload.upload.url, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: mp4Head,
    });
    expect(put.status).toBe(415);
    expect(await put.text()).toMatch(/MP4 videos are not accepted by your organization \(accepted: WEBM\)/);
    // Settings are the organization's own: this one still has the defaults.
    const mine = await ok<Data>(h, admin, `query($id: ID!) { _entities(representations: [{ __typename: "Organization", id: $id }]) { ... on Organization { mediaSettings { allowedContainers } } } }`, {
      id: Buffer.from(`Organization:${org}`).toString('base64url'),
    });
    expect(mine._entities[0].mediaSettings.allowedContainers).toContain('MP4');
  });
});

describe('the list', () => {
  it('costs the same SQL statements for 100 videos with their captions as for 1', async () => {
    const tenant = randomUUID();
    const who = actor({ tenantId: tenant, roles: ['ORG_ADMIN'] });
    const seed = (n: number) =>
      inTenant(h.subgraph.deps.orm, tenant, (uow) =>
        uow.write((em) =>
          em.execute(
            `insert into video_assets (id, tenant_id, title, filename, status, size_bytes) select gen_random_uuid(), ?, 'V' || i, 'v.mp4', 'UPLOADING', 10 from generate_series(1, ?) i`,
            [tenant, n],
          ),
        ),
      );
    const list = `{ videoAssets(first: 100) { totalCount nodes { id title captions { language url } playback { url } } } }`;
    const statements = async () => {
      const before = h.subgraph.deps.stats.statements;
      const r = await ok<Data>(h, who, list);
      return { n: r.videoAssets.nodes.length, sql: h.subgraph.deps.stats.statements - before };
    };
    await seed(1);
    const one = await statements();
    await seed(99);
    const hundred = await statements();
    expect(one.n).toBe(1);
    expect(hundred.n).toBe(100);
    expect(hundred.sql).toBe(one.sql);
  });

  it('shows authors every video and nobody else any, unless published', async () => {
    const r = await ok<Data>(h, learner, `{ videoAssets(first: 5) { totalCount nodes { id } } }`);
    expect(r.videoAssets).toEqual({ totalCount: 0, nodes: [] });
    const stranger = actor({ tenantId: randomUUID(), roles: ['ORG_ADMIN'] });
    expect((await ok<Data>(h, stranger, `{ videoAssets(first: 5) { totalCount } }`)).videoAssets.totalCount).toBe(0);
  });
});

describe('life and death of a video', () => {
  it('an upload past its expiry becomes FAILED and its parts are deleted', async () => {
    const created = (await ok<Data>(h, admin, CREATE, { i: { title: 'Late', filename: 'late.mp4', sizeBytes: 4096, idempotencyKey: idem() } })).createVideoUpload;
    const head = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(500)]);
    const put = await fetch(created.upload.url, { method: 'PATCH', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, body: head });
    expect(put.status).toBe(204);
    const videoId = idOf(created.videoAsset.id, 'VideoAsset')!;
    expect((await h.subgraph.runtime.storage.list(`${videoFolder(org, videoId)}upload/`)).length).toBe(1);
    await h.subgraph.deps.orm.em.fork().execute(`update open_uploads set expires_at = now() - interval '1 second' where video_id = ?`, [videoId]);
    await h.worker!.runtime.sweep.run();
    const v = (await ok<Data>(h, admin, `query($id: ID!) { videoAsset(id: $id) { status failureReason storedBytes } }`, { id: created.videoAsset.id })).videoAsset;
    expect(v).toMatchObject({ status: 'FAILED', storedBytes: 0 });
    expect(v.failureReason).toMatch(/expired/);
    expect(await h.subgraph.runtime.storage.list(`${videoFolder(org, videoId)}upload/`)).toEqual([]);
    // The tus client is told the upload is gone.
    const again = await fetch(created.upload.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(again.status).toBe(410);
  });

  it('deleting a video removes its objects, and storage use follows', async () => {
    const created = (await ok<Data>(h, admin, CREATE, { i: { title: 'Gone', filename: 'gone.mp4', sizeBytes: 4096, idempotencyKey: idem() } })).createVideoUpload;
    const videoId = idOf(created.videoAsset.id, 'VideoAsset')!;
    const head = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(1000)]);
    await fetch(created.upload.url, { method: 'PATCH', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, body: head });
    const captions = await ok<Data>(h, admin, `mutation($i: SetVideoCaptionsInput!) { setVideoCaptions(input: $i) { errors { code } } }`, {
      i: { videoId: created.videoAsset.id, language: 'EN-gb', label: 'English', webvtt: 'WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n', idempotencyKey: idem() },
    });
    expect(captions.setVideoCaptions.errors).toEqual([]);
    expect(await h.subgraph.runtime.storage.head(captionKey(org, videoId, 'en-GB', 'vtt'))).not.toBeNull();
    const usage = async () =>
      (await ok<Data>(h, admin, `query($id: ID!) { _entities(representations: [{ __typename: "Organization", id: $id }]) { ... on Organization { mediaUsage { bytes videos } } } }`, {
        id: Buffer.from(`Organization:${org}`).toString('base64url'),
      }))._entities[0].mediaUsage;
    const before = await usage();
    const deleted = await ok<Data>(h, admin, `mutation($i: DeleteVideoAssetInput!) { deleteVideoAsset(input: $i) { deletedId errors { code } } }`, { i: { id: created.videoAsset.id, idempotencyKey: idem() } });
    expect(deleted.deleteVideoAsset).toEqual({ deletedId: created.videoAsset.id, errors: [] });
    await until(async () => (await h.subgraph.runtime.storage.list(videoFolder(org, videoId))).length === 0);
    const after = await usage();
    expect(after.videos).toBe(before.videos - 1);
    expect(after.bytes).toBeLessThan(before.bytes);
    expect((await ok<Data>(h, admin, `query($id: ID!) { videoAsset(id: $id) { id } }`, { id: created.videoAsset.id })).videoAsset).toBeNull();
    expect(uploadPartKey(org, videoId, 0, 'x')).toContain(videoFolder(org, videoId));
    // Only ORG_ADMIN sees the organization's usage.
    const seen = await ok<Data>(h, instructor, `query($id: ID!) { _entities(representations: [{ __typename: "Organization", id: $id }]) { ... on Organization { mediaUsage { bytes } } } }`, {
      id: Buffer.from(`Organization:${org}`).toString('base64url'),
    });
    expect(seen._entities[0].mediaUsage).toBeNull();
  });
});

describe('configuration', () => {
  it('refuses to start on every interface without MEDIA_PUBLIC_URL (the URLs it hands out would not reach it)', async () => {
    await expect(startMedia(loadEnv({ ...h.db.env, HOST: '0.0.0.0', STORAGE_DIR: h.storageDir }))).rejects.toThrow(/MEDIA_PUBLIC_URL must be set when HOST is 0\.0\.0\.0/);
  });
});
