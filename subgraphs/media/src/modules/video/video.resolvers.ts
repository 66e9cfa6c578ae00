// Videos as the API shows them: what everyone who may see a video sees (title, status,
// duration, captions, signed playback), what only authors see (the upload, processing,
// renditions, storage), the organization's usage and rules, the mutations, and the
// processing subscription.
import { emptyConnection, entityRef, globalIdOf, idOf, must, notFound, type PageArgs } from '@lectern/kernel';
import { subscriptionField, type Admission } from '@lectern/kernel/subscriptions';
import type { Context } from '../../context.ts';
import type { MutationResult } from '../../errors.ts';
import { videoPage } from '../../loaders.ts';
import type { CaptionView, VideoView } from '../../views.ts';
import { videoChannel } from './channel.ts';
import { settingsOf } from './settings.ts';

type Input<T> = { input: T };
type Videos = Context['videos'];

const videoById = (id: string, ctx: Context) => {
  const uuid = idOf(id, 'VideoAsset');
  return uuid ? ctx.loaders.video.load(uuid) : null;
};


const payload = async (r: MutationResult, ctx: Context) => ({
  videoAsset: r.videoId && !r.errors.length ? await ctx.loaders.video.load(r.videoId) : null,
  errors: r.errors,
});

export const videoResolvers = {
  UserError: { __resolveType: () => 'MediaError' as const },
  Query: {
    videoAsset: (_: unknown, a: { id: string }, ctx: Context) => videoById(a.id, ctx),
    videoAssets: (_: unknown, a: PageArgs & { status?: string | null }, ctx: Context) =>
      ctx.viewer.author && ctx.actor.tenantId ? videoPage(ctx.uow, ctx.actor.tenantId, a, a.status ?? null) : emptyConnection<VideoView>(),
  },
  Mutation: {
    createVideoUpload: async (_: unknown, { input }: Input<Parameters<Videos['createVideoUpload']>[0]>, ctx: Context) => {
      const r = await ctx.videos.createVideoUpload(input);
      const video = r.videoId && !r.errors.length ? await ctx.loaders.video.load(r.videoId) : null;
      return { videoAsset: video, upload: video ? ctx.playback.upload(video) : null, errors: r.errors };
    },
    updateVideoAsset: async (_: unknown, { input }: Input<Parameters<Videos['updateVideoAsset']>[0]>, ctx: Context) => payload(await ctx.videos.updateVideoAsset(input), ctx),
    deleteVideoAsset: async (_: unknown, { input }: Input<Parameters<Videos['deleteVideoAsset']>[0]>, ctx: Context) => {
      const r = await ctx.videos.deleteVideoAsset(input);
      return { deletedId: r.deletedId ? globalIdOf('VideoAsset')({ id: r.deletedId }) : null, errors: r.errors };
    },
    setVideoCaptions: async (_: unknown, { input }: Input<Parameters<Videos['setVideoCaptions']>[0]>, ctx: Context) => payload(await ctx.videos.setVideoCaptions(input), ctx),
    removeVideoCaptions: async (_: unknown, { input }: Input<Parameters<Videos['removeVideoCaptions']>[0]>, ctx: Context) => payload(await ctx.videos.removeVideoCaptions(input), ctx),
    setMediaSettings: async (_: unknown, { input }: Input<Parameters<Videos['setMediaSettings']>[0]>, ctx: Context) => {
      const r = await ctx.videos.setMediaSettings(input);
      return { settings: await settingsOf((sql, params) => ctx.uow.statement(sql, params), ctx.actor.tenantId!, ctx.defaults), errors: r.errors };
    },
  },
  Subscription: {
    videoAssetUpdated: subscriptionField<Context, { id: string }, { videoId: string }>({
      async admit(args, ctx): Promise<Admission> {
        const video = ctx.viewer.author ? await videoById(args.id, ctx) : null;
        if (!video) throw notFound('Video');
        return { channel: videoChannel(video.id) };
      },
      resolve: (e, _args, ctx) => ctx.loaders.video.load(e.videoId),
    }),
  },
  Organization: {
    __resolveReference: (ref: { id: string }) => (idOf(ref.id, 'Organization') ? { id: ref.id } : null),
    mediaUsage: async (o: { id: string }, _: unknown, ctx: Context) => {
      if (!ctx.viewer.admin || idOf(o.id, 'Organization') !== ctx.actor.tenantId) return null;
      const [row] = await ctx.uow.statement<{ bytes: string; videos: string }>(
        `select coalesce(sum(stored_bytes), 0) as bytes, count(*) as videos from video_assets where tenant_id = ?`,
        [ctx.actor.tenantId],
      );
      return { bytes: Number(row?.bytes ?? 0), videos: Number(row?.videos ?? 0) };
    },
    mediaSettings: (o: { id: string }, _: unknown, ctx: Context) =>
      ctx.viewer.admin && idOf(o.id, 'Organization') === ctx.actor.tenantId ? settingsOf((sql, params) => ctx.uow.statement(sql, params), ctx.actor.tenantId!, ctx.defaults) : null,
  },
  VideoAsset: {
    __resolveReference: (ref: { id: string }, ctx: Context) => videoById(ref.id, ctx),
    id: globalIdOf('VideoAsset'),
    upload: (v: VideoView, _: unknown, ctx: Context) => (ctx.viewer.author && v.status === 'UPLOADING' ? ctx.playback.upload(v) : null),
    processing: (v: VideoView, _: unknown, ctx: Context) =>
      ctx.viewer.author && (v.status === 'PROCESSING' || v.status === 'READY' || v.processingAttempts > 0)
        ? { percent: v.processingPercent, startedAt: v.processingStartedAt, attempts: v.processingAttempts, finishedAt: v.processedAt }
        : null,
    renditions: (v: VideoView, _: unknown, ctx: Context) => (ctx.viewer.author && v.status === 'READY' ? v.renditions : []),
    captions: (v: VideoView, _: unknown, ctx: Context) => ctx.loaders.captions.load(v.id),
    playback: (v: VideoView, _: unknown, ctx: Context) => ctx.playback.master(v),
    posterUrl: (v: VideoView, _: unknown, ctx: Context) => ctx.playback.file(v, 'poster.jpg'),
    thumbnails: (v: VideoView, _: unknown, ctx: Context) =>
      v.status === 'READY' ? v.thumbnails.map((t) => ({ timeSeconds: t.timeSeconds, url: ctx.playback.file(v, t.file)! })) : [],
    storedBytes: (v: VideoView, _: unknown, ctx: Context) => (ctx.viewer.author ? v.storedBytes : null),
    createdBy: (v: VideoView) => (v.createdBy ? entityRef('User', v.createdBy) : null),
  },
  VideoCaption: {
    url: async (c: CaptionView, _: unknown, ctx: Context) => ctx.playback.caption(await must(ctx.loaders.video.load(c.videoId), 'video'), c.language),
  },
};
