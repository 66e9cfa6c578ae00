// The media worker process: relays media's outbox, consumes catalog's CoursePublished
// (events-media: which videos are in a published version), runs the transcode-video and
// purge-video jobs (jobs-media: modules/transcode/transcode.job.ts) and sweeps for videos whose
// job Redis lost or never got. Processing progress is published to the video's subscribers.
// `node subgraphs/media/src/worker.ts` runs it; importing this file only defines it.
import { readdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Periodic } from '@lectern/kernel/periodic';
import { publisher } from '@lectern/kernel/subscriptions';
import { jobQueueName, runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { MEDIA } from '@lectern/contracts/media';
import { routes } from '@lectern/contracts/subscriptions';
import { createStorage, storageConfig, type ObjectStorage } from '@lectern/storage';
import { entities } from './entities.ts';
import { loadEnv, type MediaEnv } from './env.ts';
import { migrations } from './migrations/index.ts';
import { catalogVersions, publishedVideoHandlers } from './modules/projection/published.ts';
import { mediaJobs, mediaSweep, transcodeProducer } from './modules/transcode/transcode.job.ts';
import { videoChanges } from './modules/video/channel.ts';
import { processWorkDir, settingsDefaults } from './runtime.ts';

export interface WorkerRuntime {
  storage: ObjectStorage;
  sweep: Periodic;
  workDir: string;
}

/** Scratch folders of media processes on this machine that are gone (a SIGKILLed worker leaves its own). */
async function removeDeadScratch(workDir: string) {
  const root = dirname(workDir);
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const name of entries) {
    const pid = Number(/-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      await rm(`${root}/${name}`, { recursive: true, force: true });
    }
  }
}

/** The worker's definition for `env` (its concurrency and job lock are settings). */
export const mediaWorker = (env: MediaEnv): WorkerDefinition<MediaEnv, WorkerRuntime> => ({
  name: MEDIA,
  entities,
  migrations,
  routes,
  runtime: ({ env, orm, log, queues }) => {
    const storage = createStorage(storageConfig(env));
    const transcodes = transcodeProducer(queues(jobQueueName(MEDIA)), log);
    return { storage, workDir: processWorkDir(env, 'worker'), sweep: mediaSweep({ orm, log, transcodes, storage, graceMs: Math.min(env.MEDIA_SWEEP_INTERVAL_MS, 10_000) }) };
  },
  handlers: ({ env }) => publishedVideoHandlers(catalogVersions(env)),
  jobs: ({ env, redis, metrics, log }, { storage, workDir }) =>
    mediaJobs({
      storage,
      workDir,
      threads: env.TRANSCODE_THREADS,
      defaults: settingsDefaults(env),
      changed: videoChanges(publisher(redis, MEDIA, env.REDIS_PREFIX, metrics), log),
    }),
  init: async ({ env }, { sweep, workDir }) => {
    await removeDeadScratch(workDir);
    sweep.start(env.MEDIA_SWEEP_INTERVAL_MS);
  },
  redisRecovered: async (_deps, { sweep }) => {
    await sweep.run();
  },
  readiness: (_deps, { storage, sweep }) => ({
    storage: () => storage.check(),
    sweep: async () => {
      if (sweep.failing) throw new Error('the media sweep is failing');
    },
  }),
  close: async (_deps, { sweep, storage }) => {
    await sweep.stop();
    await storage.close();
  },
  // Transcodes are long and use every core: one per worker unless TRANSCODE_CONCURRENCY says more.
  concurrency: env.TRANSCODE_CONCURRENCY,
  lockDuration: env.TRANSCODE_LOCK_MS,
  stalledInterval: env.TRANSCODE_LOCK_MS,
});

if (import.meta.main) {
  const env = loadEnv();
  await runWorker(mediaWorker(env), env);
}
