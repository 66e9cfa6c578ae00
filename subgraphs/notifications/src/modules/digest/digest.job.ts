// Job send-digests (queue jobs-notifications), run per organization by its job scheduler.
import { defineJob, type JobDefinition } from '@lectern/kernel/consumers';
import { jobQueueName } from '@lectern/kernel/worker';
import { NOTIFICATIONS, SEND_DIGESTS, sendDigestsPayload } from '@lectern/contracts/notifications';
import type { DigestService } from './digest.service.ts';

export function sendDigestsJob(digests: DigestService): JobDefinition {
  return defineJob({
    queue: jobQueueName(NOTIFICATIONS),
    name: SEND_DIGESTS,
    payload: sendDigestsPayload,
    run: ({ data }) => digests.run(data.tenantId, data.now ? new Date(data.now) : new Date()),
  });
}
