// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Queries run
// in the request's unit of work (RLS) and name the tenant themselves (raw SQL).
//
// Visibility is decided in the statement: authors see every video of the organization; anyone
// else only a video that is in a published course version (published_videos).
import { emptyConnection, manyLoader, oneLoader, pageRequest, toConnection, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import type { Viewer } from './access.ts';
import { captionRow, videoRow, type CaptionView, type VideoView } from './views.ts';

const NO_ONE = '00000000-0000-0000-0000-000000000000';

/** SQL: the caller (parameters: an `author` flag, the tenant) may see video row `v`. */
export const VISIBLE_SQL = `(?::boolean or exists (select 1 from published_videos pv where pv.tenant_id = ? and pv.video_id = v.id))`;

export function createLoaders(uow: UnitOfWork, tenantId: string | null, viewer: Viewer) {
  const tenant = tenantId ?? NO_ONE;
  const ids = (keys: readonly string[]) => `{${keys.join(',')}}`;
  return {
    video: oneLoader<string, VideoView>(
      async (keys) =>
        (await uow.statement(`select v.* from video_assets v where v.tenant_id = ? and v.id = any(?::uuid[]) and ${VISIBLE_SQL}`, [tenant, ids(keys), viewer.author, tenant])).map(videoRow),
      (v) => v.id,
    ),
    captions: manyLoader<string, CaptionView>(
      async (keys) =>
        (await uow.statement(`select * from video_captions where tenant_id = ? and video_id = any(?::uuid[]) order by video_id, language`, [tenant, ids(keys)])).map(captionRow),
      (c) => c.videoId,
    ),
  };
}
export type MediaLoaders = ReturnType<typeof createLoaders>;

/**
 * A page of the organization's videos, newest first (keyset on seq), `status` narrowing it;
 * authors only (the resolver answers an empty page to anyone else).
 */
export async function videoPage(uow: UnitOfWork, tenantId: string, args: PageArgs, status: string | null): Promise<Connection<VideoView>> {
  const page = pageRequest(args, 1);
  if (page.limit === 0) return emptyConnection();
  const filter = status ? ` and v.status = ?` : '';
  const keyset = page.cursor ? ` and v.seq ${page.backward ? '>' : '<'} ?::bigint` : '';
  const rows = await uow.statement(
    `select v.* from video_assets v where v.tenant_id = ?${filter}${keyset} order by v.seq ${page.backward ? 'asc' : 'desc'} limit ?`,
    [tenantId, ...(status ? [status] : []), ...(page.cursor ?? []), page.limit + 1],
  );
  return toConnection(rows.map(videoRow), page, (v) => [v.seq], async () => {
    const [c] = await uow.statement<{ n: string }>(`select count(*) as n from video_assets v where v.tenant_id = ?${filter}`, [tenantId, ...(status ? [status] : [])]);
    return Number(c?.n ?? 0);
  });
}
