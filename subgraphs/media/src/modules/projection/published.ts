// Media's projection of catalog's CoursePublished (queue events-media): which videos are in a
// course version that was published. A learner may play those (catalog's readers see every
// version ever published, so an unpublish removes nothing here). The version's lessons come
// from catalog's internal structure endpoint, asked as the signed `media` service. The handler
// runs in the event's organization's unit of work with the kernel's processed_events row
// (effect once); inserts are idempotent, so a redelivery changes nothing.
import { UnrecoverableError } from 'bullmq';
import { onEvent, type EventHandler } from '@lectern/kernel/consumers';
import { serviceCredential } from '@lectern/kernel/service-auth';
import { serviceClient } from '@lectern/kernel/service-client';
import { COURSE_STRUCTURE_PATH, CoursePublished, courseStructureResponse } from '@lectern/contracts/catalog';

export interface CatalogVersions {
  /** The video ids of a published version's VIDEO lessons (throws while catalog cannot answer). */
  videosOf(tenantId: string, versionId: string): Promise<{ courseId: string; videoIds: string[] } | null>;
}

export function catalogVersions(env: { CATALOG_URL: string; SERVICE_SIGNING_KEY?: string | undefined; NODE_ENV: string }): CatalogVersions {
  const call = serviceClient({ baseUrl: env.CATALOG_URL, audience: 'catalog', credential: serviceCredential('media', env), timeoutMs: 5_000 });
  return {
    async videosOf(tenantId, versionId) {
      const res = await call(COURSE_STRUCTURE_PATH, { tenantId, courseIds: [], versionIds: [versionId] }, courseStructureResponse, tenantId);
      const version = res.versions.find((v) => v.versionId === versionId);
      if (!version) return null;
      return { courseId: version.courseId, videoIds: [...new Set(version.lessons.flatMap((l) => (l.videoAssetId ? [l.videoAssetId] : [])))] };
    },
  };
}

export function publishedVideoHandlers(catalog: CatalogVersions): EventHandler[] {
  return [
    onEvent(CoursePublished, async ({ em, event }) => {
      const tenantId = event.tenantId;
      if (!tenantId) throw new UnrecoverableError(`${event.type} ${event.id} has no organization`);
      const version = await catalog.videosOf(tenantId, event.payload.versionId);
      // Published versions are answered for good; a miss is catalog not there yet: retried.
      if (!version) throw new Error(`catalog does not know course version ${event.payload.versionId} (yet)`);
      if (!version.videoIds.length) return;
      await em.execute(
        `insert into published_videos (tenant_id, video_id, version_id, course_id)
         select ?, v, ?, ? from unnest(?::uuid[]) as v on conflict do nothing`,
        [tenantId, event.payload.versionId, version.courseId, `{${version.videoIds.join(',')}}`],
      );
    }),
  ];
}
