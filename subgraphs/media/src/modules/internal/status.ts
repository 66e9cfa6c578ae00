// media's internal endpoint (contracts/media.ts VIDEO_STATUS_PATH), for catalog: the status and
// duration of a lesson's videos, answered in the organization's unit of work (RLS scopes it like
// any request). Unknown, deleted and other organizations' ids are left out.
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant } from '@lectern/kernel';
import type { VideoStatusRequest, VideoStatusResponse } from '@lectern/contracts/media';

export function videoStatus(orm: MikroORM, req: Required<VideoStatusRequest>): Promise<VideoStatusResponse> {
  if (!req.videoIds.length) return Promise.resolve({ videos: [] });
  return inTenant(orm, req.tenantId, async (uow) => {
    const rows = await uow.statement<{ id: string; title: string; status: VideoStatusResponse['videos'][number]['status']; duration_seconds: number | null; failure_reason: string | null }>(
      `select id, title, status, duration_seconds, failure_reason from video_assets where tenant_id = ? and id = any(?::uuid[])`,
      [req.tenantId, `{${req.videoIds.join(',')}}`],
    );
    return {
      videos: rows.map((r) => ({ videoId: r.id, title: r.title, status: r.status, durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds), failureReason: r.failure_reason })),
    };
  });
}
