// Digest schedules: one BullMQ job scheduler per organization, upserted when notifications
// first sees the organization's event, and restored for every known organization at start.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoursePublished } from '@lectern/contracts/catalog';
import { startNotificationsWorker } from '../src/server.ts';
import { envelope } from '../src/testing/index.ts';
import { handle, jobsQueue, seedOrg, startHarness, until, type Harness } from './helpers.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('notifschedules', { env: { DIGEST_INTERVAL_MINUTES: '15' } });
});
afterAll(async () => {
  await h?.close();
});

const schedulers = async () => (await jobsQueue(h).getJobSchedulers()).map((s) => ({ key: s.key, every: s.every, data: s.template?.data })).sort((a, b) => a.key.localeCompare(b.key));

describe('digest schedules', () => {
  it('schedules an organization’s digests when its first event arrives, and restores them at worker start', async () => {
    const A = await seedOrg(h, 'sched-a');
    const B = await seedOrg(h, 'sched-b');
    expect(await schedulers()).toEqual([]);
    for (const org of [A, B]) {
      await handle(h, envelope(CoursePublished, { tenantId: org.tenantId, payload: { courseId: randomUUID(), versionId: randomUUID(), previousVersionId: null, publishedBy: null } }));
    }
    const expected = [A, B]
      .map((o) => ({ key: `digest-${o.tenantId}`, every: 15 * 60_000, data: { tenantId: o.tenantId } }))
      .sort((a, b) => a.key.localeCompare(b.key));
    expect(await schedulers()).toEqual(expected);
    // The first run goes at once; with nothing due it sends nothing.
    await until(() => jobsQueue(h).getJobCounts('completed'), (c) => (c.completed ?? 0) >= 2);

    // Redis loses them (flushed, new instance): a worker start puts them back.
    for (const o of [A, B]) await jobsQueue(h).removeJobScheduler(`digest-${o.tenantId}`);
    expect(await schedulers()).toEqual([]);
    const another = await startNotificationsWorker(h.env, { port: 0 });
    try {
      expect(await schedulers()).toEqual(expected);
    } finally {
      await another.close();
    }
  });
});
