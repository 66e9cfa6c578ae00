// Shared set-up of media's integration tests: a fresh database per test file (media's schema),
// the subgraph and its worker started in-process on it under a private Redis prefix, storing
// objects in a folder of the test's own (local driver; the S3 driver passes the same contract
// suite in @lectern/storage). Catalog is not started: the projection's catalog client is
// replaced where a test needs published videos (`publish`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { globalId } from '@lectern/kernel';
import { deliverEvent } from '@lectern/kernel/consumers';
import { createLogger } from '@lectern/kernel/logger';
import { deliveredEnvelope } from '@lectern/kernel/outbox';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import type { RunningWorker } from '@lectern/kernel/worker';
import { createTestDatabase, type TestDatabase, dropRedisKeys } from '@lectern/testkit';
import { CoursePublished } from '@lectern/contracts/catalog';
import { MEDIA } from '@lectern/contracts/media';
import { loadEnv, migrations, startMedia, startMediaWorker, type MediaEnv } from '../src/server.ts';
import type { SubgraphRuntime } from '../src/runtime.ts';
import type { WorkerRuntime } from '../src/worker.ts';
import { publishedVideoHandlers } from '../src/modules/projection/published.ts';
export { call, errorCode, idem, ok, until, actor } from '@lectern/testkit';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface Harness {
  db: TestDatabase;
  env: MediaEnv;
  /** The environment as strings (for a worker started as its own process). */
  rawEnv: Record<string, string>;
  storageDir: string;
  subgraph: RunningSubgraph<MediaEnv, SubgraphRuntime>;
  worker: RunningWorker<MediaEnv, WorkerRuntime> | null;
  url: string;
  startWorker(): Promise<RunningWorker<MediaEnv, WorkerRuntime>>;
  close(): Promise<void>;
}

export async function startHarness(label: string, opts: { worker?: boolean; env?: Record<string, string> } = {}): Promise<Harness> {
  const db = await createTestDatabase({ media: migrations }, label);
  const storageDir = await mkdtemp(join(tmpdir(), `lectern-media-${label}-`));
  const cleanups: (() => Promise<unknown>)[] = [() => db.drop(), () => rm(storageDir, { recursive: true, force: true })];
  const close = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  try {
    const rawEnv = { ...db.env, WORKER_PORT: '0', STORAGE_DIR: storageDir, MEDIA_WORK_DIR: join(storageDir, '..', `${label}-work`), MEDIA_SWEEP_INTERVAL_MS: '500', TRANSCODE_LOCK_MS: '4000',
      // One ffmpeg thread: test files run side by side on two cores.
      TRANSCODE_THREADS: '1', ...opts.env };
    const env = loadEnv(rawEnv);
    cleanups.push(() => rm(env.MEDIA_WORK_DIR!, { recursive: true, force: true }));
    const redis = new Redis(env.REDIS_URL).on('error', () => {});
    cleanups.push(() => dropRedisKeys(redis, env.REDIS_PREFIX));
    const subgraph = await startMedia(env);
    cleanups.push(() => subgraph.close());
    const h: Harness = {
      db, env, rawEnv, storageDir, subgraph, worker: null, url: subgraph.url, close,
      async startWorker() {
        const w = await startMediaWorker(env);
        cleanups.push(() => w.close());
        h.worker = w;
        return w;
      },
    };
    if (opts.worker) await h.startWorker();
    return h;
  } catch (err) {
    await close();
    throw err;
  }
}

export const gid = (uuid: string) => globalId('VideoAsset', uuid);

/** Applies a CoursePublished whose version has `videoIds`, as media's consumer does (catalog stood in for). */
export function publish(h: Harness, tenantId: string, videoIds: string[]) {
  const catalog = { videosOf: async () => ({ courseId: crypto.randomUUID(), videoIds }) };
  const event = deliveredEnvelope(CoursePublished, { tenantId, payload: { courseId: crypto.randomUUID(), versionId: crypto.randomUUID(), previousVersionId: null, publishedBy: null } });
  return deliverEvent(h.subgraph.deps.orm, MEDIA, publishedVideoHandlers(catalog), event, createLogger('media-test', 'silent'));
}
