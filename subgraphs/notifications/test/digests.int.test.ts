// Daily and weekly digests in each person's time zone: one email per period listing every
// pending item once, nothing twice across runs or periods, immediate preference at once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '@lectern/kernel';
import { CoursePublished } from '@lectern/contracts/catalog';
import { duePeriod, isoWeekKey } from '../src/modules/digest/period.ts';
import { envelope, type SinkMessage } from '../src/testing/index.ts';
import { handle, jobsQueue, mail, ok, Q, runDigests, seedOrg, setPreference, setTimeZone, settled, startHarness, type Harness, type SeededOrg } from './helpers.ts';

let h: Harness;
let A: SeededOrg;
const AUCKLAND = 'Pacific/Auckland'; // UTC+13 in November (NZDT)
const LOS_ANGELES = 'America/Los_Angeles'; // UTC-8 in late November (PST)

beforeAll(async () => {
  h = await startHarness('notifdigests');
  A = await seedOrg(h, 'digest-org');
  // learner (Auckland) and learner2 (Los Angeles): weekly (the default for new courses);
  // admin (UTC): daily; instructor: at once.
  await setTimeZone(h, A.learner.id, AUCKLAND);
  await setTimeZone(h, A.learner2.id, LOS_ANGELES);
  await setPreference(h, A.actors.admin, 'COURSES', 'EMAIL', 'DAILY');
  await setPreference(h, A.actors.instructor, 'COURSES', 'EMAIL', 'IMMEDIATE');
});
afterAll(async () => {
  await h?.close();
});

/** A course's first publication by an API key (so everyone, the instructor too, hears of it). */
async function publishCourse(): Promise<string> {
  const courseId = randomUUID();
  await handle(h, envelope(CoursePublished, { tenantId: A.tenantId, aggregateId: courseId, payload: { courseId, versionId: randomUUID(), previousVersionId: null, publishedBy: null } }));
  return courseId;
}

const digestsTo = async (email: string) => (await mail(h)).filter((m) => m.to === email && m.subject.includes('digest'));
const courseLinks = (m: SinkMessage) => [...m.text.matchAll(/http:\/\/127\.0\.0\.1:4000\/courses\/([0-9a-f-]{36})/g)].map((x) => x[1]);
const sentTo = (report: Awaited<ReturnType<typeof runDigests>>) => report.sent.map((s) => `${s.userId}:${s.frequency}:${s.periodKey}:${s.items}`).sort();

describe('digest periods', () => {
  it('follow the person’s clock: local day after 08:00, local ISO week after Monday 08:00', () => {
    const instant = new Date('2026-11-23T10:00:00Z'); // Monday
    expect(duePeriod('WEEKLY', instant, AUCKLAND)).toBe('2026-W48'); // Monday 23:00
    expect(duePeriod('WEEKLY', instant, LOS_ANGELES)).toBeNull(); // Monday 02:00
    expect(duePeriod('DAILY', instant, LOS_ANGELES)).toBeNull();
    expect(duePeriod('DAILY', instant, 'UTC')).toBe('2026-11-23');
    expect(duePeriod('WEEKLY', new Date('2026-11-23T16:30:00Z'), LOS_ANGELES)).toBe('2026-W48'); // Monday 08:30
    expect(duePeriod('WEEKLY', new Date('2026-11-22T20:30:00Z'), LOS_ANGELES)).toBe('2026-W47'); // Sunday
    expect(duePeriod('DAILY', new Date('2026-11-22T20:30:00Z'), AUCKLAND)).toBe('2026-11-23'); // already Monday 09:30 there
    expect(duePeriod('DAILY', new Date('2026-11-23T10:00:00Z'), 'Not/AZone')).toBe('2026-11-23'); // unknown zones count as UTC
    expect(duePeriod('DAILY', new Date('2026-11-23T07:30:00Z'), undefined)).toBeNull(); // no zone from identity: UTC (07:30)
    expect(duePeriod('DAILY', new Date('2026-11-23T08:30:00Z'), null)).toBe('2026-11-23');
    expect(isoWeekKey(2026, 12, 31)).toBe('2026-W53');
    expect(isoWeekKey(2027, 1, 1)).toBe('2026-W53');
    expect(isoWeekKey(2025, 12, 29)).toBe('2026-W01');
  });
});

describe('send-digests', () => {
  const first: string[] = [];
  const later: string[] = [];

  it('emails an immediate preference at once and keeps the others waiting', async () => {
    for (let i = 0; i < 3; i++) first.push(await publishCourse());
    const immediate = (await mail(h)).filter((m) => m.to === A.instructor.email);
    expect(immediate.map((m) => m.subject)).toEqual(['New course in Digest Org', 'New course in Digest Org', 'New course in Digest Org']);
    expect(immediate.flatMap(courseLinks).sort()).toEqual([...first].sort());
    const pending = await h.admin.query('select user_id, frequency, count(*)::int as n from notifications.digest_items where digest_id is null group by 1, 2');
    expect(pending.rows.map((r) => `${r.user_id}:${r.frequency}:${r.n}`).sort()).toEqual(
      [`${A.admin.id}:DAILY:3`, `${A.learner.id}:WEEKLY:3`, `${A.learner2.id}:WEEKLY:3`].sort(),
    );
    expect(await digestsTo(A.learner.email)).toEqual([]);
  });

  it('sends a weekly digest with every pending item once, in each person’s own time zone', async () => {
    // Monday 10:00 UTC: Monday 23:00 in Auckland (due), Monday 02:00 in Los Angeles (not yet).
    const report = await runDigests(h, A.tenantId, '2026-11-23T10:00:00Z');
    expect(sentTo(report)).toEqual([`${A.admin.id}:DAILY:2026-11-23:3`, `${A.learner.id}:WEEKLY:2026-W48:3`].sort());
    const [weekly, ...more] = await digestsTo(A.learner.email);
    expect(more).toEqual([]);
    expect(weekly!.subject).toBe('Your weekly digest from Digest Org: 3 updates');
    expect(weekly!.text).toContain('Hello Lena Learner');
    expect(courseLinks(weekly!).sort()).toEqual([...first].sort()); // each item exactly once
    expect(weekly!.html.match(/<li>/g)).toHaveLength(3);
    expect(await digestsTo(A.learner2.email)).toEqual([]);

    // Monday 16:30 UTC is Monday 08:30 in Los Angeles: now theirs is due (and Auckland's is sent).
    const la = await runDigests(h, A.tenantId, '2026-11-23T16:30:00Z');
    expect(sentTo(la)).toEqual([`${A.learner2.id}:WEEKLY:2026-W48:3`]);
    const [laDigest] = await digestsTo(A.learner2.email);
    expect(courseLinks(laDigest!).sort()).toEqual([...first].sort());
  });

  it('sends nothing on a second run in the same period, even with new items waiting', async () => {
    for (let i = 0; i < 2; i++) later.push(await publishCourse());
    const before = (await mail(h)).length;
    expect((await runDigests(h, A.tenantId, '2026-11-23T16:45:00Z')).sent).toEqual([]);
    // Tuesday 07:00 UTC: before the admin's 08:00; Tuesday evening in Auckland and Monday night
    // in Los Angeles, both still in week 48, whose digests went out.
    expect((await runDigests(h, A.tenantId, '2026-11-24T07:00:00Z')).sent).toEqual([]);
    expect((await mail(h)).length).toBe(before);
    const pending = await h.admin.query('select count(*)::int as n from notifications.digest_items where digest_id is null');
    expect(pending.rows).toEqual([{ n: 6 }]);
  });

  it('never repeats an item in the next period’s digest', async () => {
    // The daily (UTC) digest of the next day carries only the two new courses.
    const daily = await runDigests(h, A.tenantId, '2026-11-24T09:00:00Z');
    expect(sentTo(daily)).toEqual([`${A.admin.id}:DAILY:2026-11-24:2`]);
    // The next week: Auckland (Tuesday 09:00) and Los Angeles (Monday 12:00) get the two new ones only.
    const weekly = await runDigests(h, A.tenantId, '2026-11-30T20:00:00Z');
    expect(sentTo(weekly)).toEqual([`${A.learner.id}:WEEKLY:2026-W49:2`, `${A.learner2.id}:WEEKLY:2026-W49:2`].sort());
    for (const person of [A.admin, A.learner, A.learner2]) {
      const digests = await digestsTo(person.email);
      expect(digests).toHaveLength(2);
      const links = digests.flatMap(courseLinks);
      expect(links.sort()).toEqual([...first, ...later].sort()); // all five, none twice
    }
    const rows = await h.admin.query('select frequency, period_key, item_count from notifications.digests where user_id = $1 order by sent_at', [A.learner.id]);
    expect(rows.rows).toEqual([
      { frequency: 'WEEKLY', period_key: '2026-W48', item_count: 3 },
      { frequency: 'WEEKLY', period_key: '2026-W49', item_count: 2 },
    ]);
    expect((await h.admin.query('select count(*)::int as n from notifications.digest_items where digest_id is null')).rows).toEqual([{ n: 0 }]);
  });

  it('lets only one of two concurrent runs of a period send', async () => {
    const courseId = await publishCourse();
    const a = await jobsQueue(h).add('send-digests', { tenantId: A.tenantId, now: '2026-11-25T09:00:00Z' });
    const b = await jobsQueue(h).add('send-digests', { tenantId: A.tenantId, now: '2026-11-25T09:00:00Z' });
    const [ra, rb] = await Promise.all([settled(jobsQueue(h), a.id!), settled(jobsQueue(h), b.id!)]);
    expect([ra.state, rb.state]).toEqual(['completed', 'completed']);
    const sent = [...ra.job.returnvalue.sent, ...rb.job.returnvalue.sent];
    expect(sent).toEqual([{ userId: A.admin.id, frequency: 'DAILY', periodKey: '2026-11-25', items: 1 }]);
    const daily = (await digestsTo(A.admin.email)).filter((m) => courseLinks(m).includes(courseId));
    expect(daily).toHaveLength(1);
  });

  it('moves waiting items when a person changes how often they want email, and drops them on OFF', async () => {
    const courseId = await publishCourse();
    await setPreference(h, A.actors.learner, 'COURSES', 'EMAIL', 'DAILY');
    const pending = async (userId: string) =>
      (await h.admin.query('select frequency from notifications.digest_items where user_id = $1 and digest_id is null', [userId])).rows.map((r) => r.frequency);
    // Two were waiting for the weekly digest (this course and the previous test's).
    expect(await pending(A.learner.id)).toEqual(['DAILY', 'DAILY']);
    await setPreference(h, A.actors.learner2, 'COURSES', 'EMAIL', 'OFF');
    expect(await pending(A.learner2.id)).toEqual([]);
    const report = await runDigests(h, A.tenantId, '2026-11-26T20:00:00Z'); // Friday 09:00 in Auckland
    expect(report.sent.find((s) => s.userId === A.learner.id)).toMatchObject({ frequency: 'DAILY', periodKey: '2026-11-27', items: 2 });
    expect(report.sent.find((s) => s.userId === A.learner2.id)).toBeUndefined();
    // The inbox still has it.
    const inbox = await ok(h, A.actors.learner2, Q.inbox, { first: 1 });
    expect(inbox.notifications.edges[0].node.course).toEqual({ id: globalId('Course', courseId) });
  });
});
