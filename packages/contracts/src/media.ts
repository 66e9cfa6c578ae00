// media's published contract: its name (queues events-media, jobs-media) and its internal
// endpoint, which catalog asks whether a lesson's video exists in the organization and is
// READY (a course cannot be published with a video that is not), and how long it is (the
// duration a VIDEO lesson's "watched" rule is measured against). Non-personal facts only.
import { z } from 'zod';

export const MEDIA = 'media';

export const VIDEO_STATUSES = ['UPLOADING', 'PROCESSING', 'READY', 'FAILED'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];

/**
 * The status and duration of videos (plain UUIDs, not the API's global ids). Unknown ids, deleted
 * videos and another organization's are left out of the answer.
 */
export const VIDEO_STATUS_PATH = '/internal/videos/status';
export const videoStatusRequest = z.strictObject({
  tenantId: z.string().uuid(),
  videoIds: z.array(z.string().uuid()).max(500),
});
export type VideoStatusRequest = z.input<typeof videoStatusRequest>;
export const videoStatusResponse = z.object({
  videos: z.array(
    z.object({
      videoId: z.string().uuid(),
      title: z.string(),
      status: z.enum(VIDEO_STATUSES),
      /** Seconds, once processing read it (READY videos always have one). */
      durationSeconds: z.number().nonnegative().nullable(),
      /** Why processing failed (FAILED only). */
      failureReason: z.string().nullable(),
    }),
  ),
});
export type VideoStatusResponse = z.infer<typeof videoStatusResponse>;
