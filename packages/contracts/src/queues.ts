// Every BullMQ queue of Lectern, for the operator view (queue counts, dead letters and their
// replay across contexts). Derived from what the contracts declare: one `events-<consumer>`
// queue per consuming context of subscriptions.ts, and the `jobs-<context>` queue of each
// context whose worker runs jobs (the kernel's jobQueueName). A context that starts running
// jobs adds itself to JOB_QUEUE_CONTEXTS.
import { eventQueueName } from '@lectern/kernel/queues';
import { ASSESSMENT } from './assessment.ts';
import { CERTIFICATION } from './certification.ts';
import { ENROLLMENT } from './enrollment.ts';
import { LEARNING } from './learning.ts';
import { MEDIA } from './media.ts';
import { NOTIFICATIONS } from './notifications.ts';
import { subscriptions } from './subscriptions.ts';

/** Contexts with a job queue: enrollment (import-roster), learning, notifications (send-digests), assessment (expire-attempt), media (transcode-video), certification (issue-certificate). */
export const JOB_QUEUE_CONTEXTS = [ENROLLMENT, LEARNING, NOTIFICATIONS, ASSESSMENT, MEDIA, CERTIFICATION] as const;

/** The queue of a context's background jobs (the same name as the kernel worker's jobQueueName). */
export const jobQueue = (context: string) => `jobs-${context}`;

/** Queues of consumed events, one per consuming context. */
export const EVENT_QUEUES: readonly string[] = Object.keys(subscriptions).sort().map(eventQueueName);

/** Queues of background jobs. */
export const JOB_QUEUES: readonly string[] = [...JOB_QUEUE_CONTEXTS].sort().map(jobQueue);

/** Every Lectern queue: event queues first, then job queues, each alphabetically. */
export const QUEUES: readonly string[] = [...EVENT_QUEUES, ...JOB_QUEUES];

/** Whether `name` is a Lectern queue (operators may only read and replay these). */
export const isQueue = (name: string): boolean => QUEUES.includes(name);
