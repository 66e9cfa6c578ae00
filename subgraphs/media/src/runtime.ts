// Media's process-wide pieces (the request path), built once at start (the definition's
// `runtime`): object storage, the URL signer, the producer of transcode and purge jobs, and the
// settings the upload and playback routes share.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SubgraphDeps } from '@lectern/kernel/subgraph';
import { requestQueues } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { MEDIA } from '@lectern/contracts/media';
import { createStorage, storageConfig, type ObjectStorage } from '@lectern/storage';
import { signingSecret, type MediaEnv } from './env.ts';
import { Playback } from './modules/playback/playback.ts';
import { UrlSigner } from './modules/playback/signing.ts';
import { transcodeProducer, type Transcodes } from './modules/transcode/transcode.job.ts';
import type { SettingsDefaults } from './modules/video/settings.ts';

export interface SubgraphRuntime {
  storage: ObjectStorage;
  signer: UrlSigner;
  playback: Playback;
  transcodes: Transcodes;
  defaults: SettingsDefaults;
  /** Local folder the upload route spools PATCH bodies to. */
  workDir: string;
  /** The public origin of upload and playback URLs (server.ts fills in the listening address when MEDIA_PUBLIC_URL is unset). */
  origin: { value: string };
  close(): Promise<void>;
}

/** The organization defaults from the environment. */
export const settingsDefaults = (env: MediaEnv): SettingsDefaults => ({ maxUploadBytes: env.MEDIA_MAX_UPLOAD_BYTES, allowedContainers: env.MEDIA_ALLOWED_CONTAINERS });

/** This process's own scratch folder (a pid per process, so processes sharing a disk never share one). */
export const processWorkDir = (env: MediaEnv, role: string) => join(env.MEDIA_WORK_DIR ?? join(tmpdir(), 'lectern-media'), `${role}-${process.pid}`);

export function createSubgraphRuntime({ env, log }: SubgraphDeps<MediaEnv>): SubgraphRuntime {
  // Listening on every interface (containers) says nothing of the address clients use.
  if (!env.MEDIA_PUBLIC_URL && ['0.0.0.0', '::', ''].includes(env.HOST)) {
    throw new Error(`MEDIA_PUBLIC_URL must be set when HOST is ${env.HOST || 'empty'}: it is the origin clients reach /media/uploads and /media/play at (e.g. https://lectern.example.com)`);
  }
  // What may refuse the start comes before what opens connections.
  const signer = new UrlSigner(signingSecret(env));
  const storage = createStorage(storageConfig(env));
  const { queues, close } = requestQueues(env.REDIS_URL, env.REDIS_PREFIX);
  const origin = { value: env.MEDIA_PUBLIC_URL ?? (env.PORT ? `http://${env.HOST}:${env.PORT}` : '') };
  return {
    origin,
    storage,
    signer,
    playback: new Playback(signer, { publicUrl: () => origin.value, ttlSeconds: env.PLAYBACK_URL_TTL_SECONDS }),
    transcodes: transcodeProducer(queues(jobQueueName(MEDIA)), log),
    defaults: settingsDefaults(env),
    workDir: processWorkDir(env, 'uploads'),
    async close() {
      await close();
      await storage.close();
    },
  };
}
