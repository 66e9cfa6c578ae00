// The subscription channel of one video (kernel subscriptions.ts adds the subgraph and the
// organization): the subgraph publishes its changes there after each commit, the worker its
// processing; `videoAssetUpdated` streams it. Pub/sub is fire-and-forget: a change that cannot
// be published (Redis down) is only logged; subscribers re-read the video when they reconnect.
import type { Logger } from '@lectern/kernel';
import type { Publish } from '@lectern/kernel/subscriptions';

export const videoChannel = (videoId: string) => `video:${videoId}`;

/** `changed(tenantId, videoId)`: tells the video's subscribers it changed (call it after the commit). */
export const videoChanges = (publish: Publish, log: Logger) => (tenantId: string, videoId: string) =>
  void publish(tenantId, videoChannel(videoId), { videoId }).catch((err: unknown) => log.debug({ err, videoId }, 'video change not published'));
