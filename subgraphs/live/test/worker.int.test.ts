// The live worker: consumes enrollment's roster events from events-live (once each), and
// relays live's outbox (AttendanceRecorded) to the contexts that subscribe to it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventQueueName } from '@lectern/kernel/queues';
import type { RunningWorker } from '@lectern/kernel/worker';
import { LearnerEnrolled } from '@lectern/contracts/enrollment';
import { settled } from '@lectern/testkit';
import { startLiveWorker, type LiveEnv } from '../src/server.ts';
import { envelope } from '../src/testing/index.ts';
import { idem, M, ok, organization, scheduleSession, startHarness, startSession, until, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;
let worker: RunningWorker<LiveEnv, void>;

beforeAll(async () => {
  h = await startHarness('liveworker');
  org = await organization(h);
  worker = await startLiveWorker(h.env, { port: 0 });
});
afterAll(async () => {
  for (const q of [eventQueueName('live'), eventQueueName('learning')]) await worker?.deps.queues(q).obliterate({ force: true }).catch(() => {});
  await worker?.close();
  await h?.close();
});

describe('live worker', () => {
  it('applies a LearnerEnrolled from events-live once, even delivered twice', async () => {
    const learnerId = randomUUID();
    const enrollmentId = randomUUID();
    const event = envelope(LearnerEnrolled, {
      tenantId: org.tenantId,
      aggregateId: enrollmentId,
      payload: { enrollmentId, learnerId, offeringId: org.offeringId, cohortId: org.cohortA, courseId: randomUUID(), courseVersionId: randomUUID(), promotedFromWaitlist: false },
    });
    const queue = worker.deps.queues(eventQueueName('live'));
    await queue.add(event.type, event, { jobId: event.id });
    expect((await settled(queue, event.id)).state).toBe('completed');
    await queue.add(event.type, event, { jobId: `${event.id}-again` });
    const again = await settled(queue, `${event.id}-again`);
    expect(again.state).toBe('completed');
    expect(again.job.returnvalue).toBe('duplicate');
    const { rows } = await h.admin.query('select status from live.roster_enrollments where enrollment_id = $1', [enrollmentId]);
    expect(rows).toEqual([{ status: 'ACTIVE' }]);
  });

  it('relays AttendanceRecorded to events-learning', async () => {
    const id = await scheduleSession(h, org);
    await startSession(h, org.instructor, id);
    await ok(h, org.instructor, M.end, { input: { sessionId: id, idempotencyKey: idem() } });
    const published = await until(async () => (await h.admin.query(`select id from live.outbox where type = 'live.AttendanceRecorded' and published_at is not null`)).rows[0]?.id as string | undefined);
    const job = await worker.deps.queues(eventQueueName('learning')).getJob(published);
    expect(job?.data).toMatchObject({ type: 'live.AttendanceRecorded', tenantId: org.tenantId });
  });
});
