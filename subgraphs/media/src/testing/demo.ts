// The demo organization's video (scripts/seed-demo.ts): one short clip ffmpeg makes (testsrc with
// a tone), stored as an uploaded source and handed to the media worker like any finished upload,
// so the demo's VIDEO lessons play once it is transcoded. Every demo VIDEO lesson shows it, and
// learners may play it (the published demo versions are recorded as media's projection would
// record them from catalog's CoursePublished). Idempotent: a second run finds the video there.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@lectern/kernel/logger';
import { createOrm } from '@lectern/kernel/orm';
import { requestQueues } from '@lectern/kernel/queues';
import { inTenant } from '@lectern/kernel/uow';
import { jobQueueName } from '@lectern/kernel/worker';
import { MEDIA } from '@lectern/contracts/media';
import { createStorage, storageConfig } from '@lectern/storage';
import type { MediaEnv } from '../env.ts';
import { entities } from '../entities.ts';
import { makeTestVideo } from '../modules/pipeline/test-media.ts';
import { transcodeProducer } from '../modules/transcode/transcode.job.ts';
import { sourceKey } from '../modules/video/keys.ts';

/** How long the demo video is (the demo's VIDEO lessons last as long). */
export const DEMO_VIDEO_SECONDS = 20;

export type DemoVideoOutcome = 'created' | 'exists' | 'no ffmpeg';

export async function seedDemoVideo(
  env: MediaEnv,
  opts: { tenantId: string; videoId: string; title: string; createdBy: string; published: { courseId: string; versionId: string }[]; databasePassword?: string | undefined },
): Promise<DemoVideoOutcome> {
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, schema: MEDIA, entities, password: opts.databasePassword ?? env.DATABASE_PASSWORD });
  const storage = createStorage(storageConfig(env));
  const scratch = await mkdtemp(join(tmpdir(), 'lectern-demo-video-'));
  try {
    const { tenantId, videoId } = opts;
    const recordPublished = (uow: Parameters<Parameters<typeof inTenant>[2]>[0]) =>
      uow.write(async (em) => {
        for (const p of opts.published) {
          await em.execute(`insert into published_videos (tenant_id, video_id, version_id, course_id) values (?, ?, ?, ?) on conflict do nothing`, [tenantId, videoId, p.versionId, p.courseId]);
        }
      });
    const exists = await inTenant(orm, tenantId, async (uow) => {
      await recordPublished(uow);
      return (await uow.statement(`select 1 from video_assets where tenant_id = ? and id = ?`, [tenantId, videoId])).length > 0;
    });
    if (exists) return 'exists';
    const file = join(scratch, 'demo.mp4');
    try {
      await makeTestVideo({ path: file, seconds: DEMO_VIDEO_SECONDS, width: 640, height: 360, audio: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || /ENOENT|not found/i.test(String(err))) return 'no ffmpeg';
      throw err;
    }
    const size = (await stat(file)).size;
    await storage.putFile(sourceKey(tenantId, videoId), file, { contentType: 'video/mp4' });
    await inTenant(orm, tenantId, (uow) =>
      uow.write(async (em) => {
        await em.execute(
          `insert into video_assets (id, tenant_id, title, filename, status, size_bytes, uploaded_bytes, stored_bytes, container, created_by)
           values (?, ?, ?, 'demo.mp4', 'PROCESSING', ?, ?, ?, 'MP4', ?) on conflict do nothing`,
          [videoId, tenantId, opts.title, size, size, size, opts.createdBy],
        );
        await em.execute(`insert into pending_transcodes (video_id, organization_id) values (?, ?) on conflict do nothing`, [videoId, tenantId]);
      }),
    );
    // The worker's sweep would find it too; enqueueing now has it transcoded as soon as a worker runs.
    const { queues, close } = requestQueues(env.REDIS_URL, env.REDIS_PREFIX);
    try {
      await transcodeProducer(queues(jobQueueName(MEDIA)), createLogger('seed', 'silent')).enqueue(tenantId, videoId);
    } finally {
      await close();
    }
    return 'created';
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await storage.close();
    await orm.close();
  }
}
