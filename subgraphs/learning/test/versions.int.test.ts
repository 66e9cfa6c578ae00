// An offering's course version: learners record and see progress against the version their
// offering runs (another version's lessons are refused with a typed error), and enrollment's
// OfferingVersionChanged moves the offering's enrollments to the new version, carrying
// progress over for the lessons that still exist there (same lineage), then re-evaluates
// completion once under the course's policy. The new version's structure comes from a
// catalog stand-in (the projection asks catalog only for a version's lessons): v2 keeps
// the first video (same lineage), keeps the second with a shorter duration (so its 60 s
// watched now complete it), and drops the text lesson.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '@lectern/kernel';
import { LearnerEnrolled, OfferingVersionChanged } from '@lectern/contracts/enrollment';
import { CourseCompleted, LessonCompleted } from '@lectern/contracts/learning';
import { inTenant } from '@lectern/kernel';
import { AccessCache, applyEvent, catalogClient, envelope, HeartbeatBuffer, HeartbeatService, projectionHandlers } from '../src/testing/index.ts';
import type { CatalogClient, VersionStructure } from '../src/modules/projection/catalog-client.ts';
import { beat, drain, E, L, ok, organization, PROGRESS_FIELDS, RECORD, seedPublished, startHarness, SYNC, idem, type Harness } from './helpers.ts';

let h: Harness;
const A = organization();
let v1: Awaited<ReturnType<typeof seedPublished>>;
/** Lessons of v1 in order: video (100 s), video (100 s), text. */
let one: { video: string; video2: string; text: string };
let v2: VersionStructure;
let handlers: ReturnType<typeof projectionHandlers>;
/** catalog as learning sees it, with v2 published (the stand-in's versions and published version). */
let catalog: CatalogClient;
let flusher: ReturnType<Harness['flusher']>;

beforeAll(async () => {
  h = await startHarness('learning-versions');
  v1 = await seedPublished(h, A.tenantId, [
    { title: 'Video', kind: 'VIDEO', durationSeconds: 100 },
    { title: 'Second video', kind: 'VIDEO', durationSeconds: 100 },
    { title: 'Reading', kind: 'TEXT' },
  ]);
  const [video, video2, text] = v1.lessonIds as [string, string, string];
  one = { video, video2, text };
  const [structure] = await catalogClient(h.env).versions(A.tenantId, [v1.versionId]);
  const byId = new Map(structure!.lessons.map((l) => [l.lessonId, l]));
  v2 = {
    versionId: randomUUID(),
    courseId: v1.courseId,
    number: 2,
    status: 'PUBLISHED',
    title: structure!.title,
    description: structure!.description,
    lessons: [
      { ...byId.get(video)!, lessonId: randomUUID() },
      { ...byId.get(video2)!, lessonId: randomUUID(), durationSeconds: 70 },
    ],
  };
  const real = catalogClient(h.env);
  catalog = {
    ...real,
    courses: async (tenantId, ids) => (await real.courses(tenantId, ids)).map((c) => (c.courseId === v1.courseId ? { ...c, publishedVersionId: v2.versionId } : c)),
    versions: async (tenantId, ids) => [...(await real.versions(tenantId, ids.filter((id) => id !== v2.versionId))), ...(ids.includes(v2.versionId) ? [v2] : [])],
  };
  handlers = projectionHandlers({ catalog, access: new AccessCache(h.redis, h.env.REDIS_PREFIX) });
  flusher = h.flusher();
});
afterAll(async () => {
  await flusher?.stop();
  await h?.close();
});

const newId = (i: number) => v2.lessons[i]!.lessonId;

async function enrollIn(offeringId: string, learnerId: string, versionId = v1.versionId) {
  const enrollmentId = randomUUID();
  const payload = { enrollmentId, learnerId, offeringId, cohortId: randomUUID(), courseId: v1.courseId, courseVersionId: versionId, promotedFromWaitlist: false };
  await applyEvent(h.orm, handlers, envelope(LearnerEnrolled, { tenantId: A.tenantId, aggregateId: enrollmentId, payload }));
  return enrollmentId;
}

const versionChanged = (offeringId: string) =>
  envelope(OfferingVersionChanged, { tenantId: A.tenantId, aggregateId: offeringId, payload: { offeringId, courseId: v1.courseId, fromVersionId: v1.versionId, toVersionId: v2.versionId, changedBy: randomUUID() } });

async function rows(enrollmentId: string) {
  const { rows: lessons } = await h.admin.query('select lesson_id, status, completed_at, watched_seconds, covered_seconds from learning.lesson_progress where enrollment_id = $1', [enrollmentId]);
  const { rows: devices } = await h.admin.query('select lesson_id, device_id, hb_seconds, sync_seconds from learning.device_watch where enrollment_id = $1 order by lesson_id', [enrollmentId]);
  const { rows: [enrollment] } = await h.admin.query('select course_version_id, progress_status, completed_at from learning.enrollments where id = $1', [enrollmentId]);
  return { lessons: new Map(lessons.map((l) => [l.lesson_id as string, l])), devices, enrollment };
}
async function outbox(enrollmentId: string) {
  const { rows: list } = await h.admin.query('select type, payload from learning.outbox where aggregate_id = $1 order by occurred_at, type desc', [enrollmentId]);
  return list as { type: string; payload: Record<string, string> }[];
}
const progress = async (who: typeof A.learner, enrollmentId: string) =>
  (await ok(h, who, `query($id: ID!) { courseProgress(enrollmentId: $id) { ${PROGRESS_FIELDS} } }`, { id: E(enrollmentId) })).courseProgress;

describe('an offering moved to a newer course version', () => {
  it('moves its enrollments with their progress in lessons that still exist, and completes what the new version completes, once', async () => {
    const offering = randomUUID();
    const learner = { ...A.learner, userId: randomUUID() };
    const idle = { ...A.learner, userId: randomUUID() };
    const elsewhere = { ...A.learner, userId: randomUUID() };
    const moved = await enrollIn(offering, learner.userId!);
    const untouched = await enrollIn(offering, idle.userId!);
    const other = await enrollIn(randomUUID(), elsewhere.userId!); // another offering of the course: stays on v1

    // On v1: the first video completed (85 s), the second 60 s watched (of 100: in progress), the text opened.
    for (let p = 17; p <= 85; p += 17) await ok(h, learner, RECORD, { input: beat(one.video, p, 17) });
    await ok(h, learner, SYNC, { input: { deviceId: 'phone', idempotencyKey: idem(), items: [
      { lessonId: L(one.video2), position: 60, positionAt: new Date().toISOString(), watchedRanges: [[0, 60]], watchedSeconds: 60, opened: true },
      { lessonId: L(one.text), position: 0, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true },
    ] } });
    await drain(h, flusher);
    const before = await rows(moved);
    expect([...before.lessons.values()].map((l) => [l.lesson_id, l.status]).sort()).toEqual([[one.video, 'COMPLETED'], [one.video2, 'IN_PROGRESS'], [one.text, 'COMPLETED']].sort());
    expect(before.enrollment.progress_status).toBe('IN_PROGRESS');
    // A lesson of the offering's version is accepted; another version's is refused (typed) while the offering runs v1.
    expect((await ok(h, learner, RECORD, { input: beat(one.video, 90, 5) })).recordProgress.accepted).toBe(true);
    await drain(h, flusher);
    const eventsBefore = await outbox(moved);
    expect(eventsBefore.map((e) => e.type)).toEqual([LessonCompleted.type, LessonCompleted.type]);

    // v2 is published in catalog but no offering runs it yet (learning has not projected it): still refused, typed.
    const record = (lessonId: string) =>
      inTenant(h.orm, A.tenantId, (uow) =>
        new HeartbeatService({ actor: learner, uow, cache: new AccessCache(h.redis, h.env.REDIS_PREFIX), buffer: new HeartbeatBuffer(h.redis, h.env.REDIS_PREFIX), catalog }).record(beat(lessonId, 10, 10)),
      );
    expect((await record(newId(0))).errors).toEqual([{ code: 'LESSON_NOT_IN_VERSION', message: expect.any(String), path: ['input', 'lessonId'] }]);
    expect((await record(randomUUID())).errors).toEqual([{ code: 'NOT_ENROLLED', message: expect.any(String), path: ['input', 'lessonId'] }]);

    const event = versionChanged(offering);
    expect(await applyEvent(h.orm, handlers, event)).toBe('processed');

    const after = await rows(moved);
    expect(after.enrollment.course_version_id).toBe(v2.versionId);
    expect((await rows(untouched)).enrollment.course_version_id).toBe(v2.versionId);
    expect((await rows(other)).enrollment.course_version_id).toBe(v1.versionId);
    // Carried by lineage: the completed video keeps its completion (same completed_at) under its v2 id.
    const carried = after.lessons.get(newId(0))!;
    const original = before.lessons.get(one.video)!;
    expect(carried).toMatchObject({ status: 'COMPLETED', completed_at: original.completed_at, watched_seconds: 90, covered_seconds: 90 });
    // The second video's 60 s now meet 80 % of 70 s: completed by the re-evaluation.
    expect(after.lessons.get(newId(1))).toMatchObject({ status: 'COMPLETED', covered_seconds: 60 });
    // The text lesson is not in v2: its row stays under its v1 id, off the version.
    expect(after.lessons.get(one.text)).toMatchObject({ status: 'COMPLETED' });
    expect(after.lessons.has(one.video) || after.lessons.has(one.video2)).toBe(false);
    expect(after.devices.map((d) => d.lesson_id).every((l) => [newId(0), newId(1), one.text].includes(l))).toBe(true);
    // Every lesson of v2 is complete: the course completes, announced once with v2's ids; nothing announced twice.
    expect(after.enrollment.progress_status).toBe('COMPLETED');
    const events = (await outbox(moved)).slice(eventsBefore.length);
    expect(events).toEqual([
      { type: LessonCompleted.type, payload: { enrollmentId: moved, learnerId: learner.userId, courseId: v1.courseId, courseVersionId: v2.versionId, lessonId: newId(1), lineageId: v2.lessons[1]!.lineageId } },
      { type: CourseCompleted.type, payload: { enrollmentId: moved, learnerId: learner.userId, courseId: v1.courseId, courseVersionId: v2.versionId } },
    ]);
    expect(await outbox(untouched)).toEqual([]);

    // Redelivered: processed once; the same change again (a new event) changes nothing and announces nothing.
    expect(await applyEvent(h.orm, handlers, event)).toBe('duplicate');
    expect(await applyEvent(h.orm, handlers, versionChanged(offering))).toBe('processed');
    expect(await rows(moved)).toEqual(after);
    expect((await outbox(moved)).length).toBe(eventsBefore.length + 2);

    // Learners now see and record against v2: its lessons, in order, with the carried state.
    const state = await progress(learner, moved);
    expect(state.courseVersion.id).toBe(globalId('CourseVersion', v2.versionId));
    expect(state.lessons.map((l: { lesson: { id: string }; status: string }) => [l.lesson.id, l.status])).toEqual([[L(newId(0)), 'COMPLETED'], [L(newId(1)), 'COMPLETED']]);
    expect(state).toMatchObject({ status: 'COMPLETED', percent: 100 });
    expect((await ok(h, idle, RECORD, { input: beat(newId(0), 10, 10) })).recordProgress).toEqual({ accepted: true, duplicate: false, errors: [] });
    // The learner's cached lesson access (filled on v1) was dropped with the move.
    expect((await ok(h, learner, RECORD, { input: beat(newId(1), 65, 5) })).recordProgress).toEqual({ accepted: true, duplicate: false, errors: [] });
    expect((await ok(h, learner, RECORD, { input: beat(one.video2, 65, 5) })).recordProgress.errors).toEqual([{ code: 'LESSON_NOT_IN_VERSION', message: expect.any(String), path: ['input', 'lessonId'] }]);
    const refused = (await ok(h, idle, RECORD, { input: beat(one.video, 10, 10) })).recordProgress;
    expect(refused).toEqual({ accepted: false, duplicate: false, errors: [{ code: 'LESSON_NOT_IN_VERSION', message: expect.any(String), path: ['input', 'lessonId'] }] });
    // ... and the learner of the offering still on v1 may not record against v2.
    const sync = await ok(h, elsewhere, SYNC, { input: { deviceId: 'd', idempotencyKey: idem(), items: [
      { lessonId: L(newId(0)), position: 1, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true },
      { lessonId: L(one.video), position: 1, positionAt: new Date().toISOString(), watchedRanges: [], watchedSeconds: 0, opened: true },
    ] } });
    expect(sync.syncProgress.errors).toEqual([{ code: 'LESSON_NOT_IN_VERSION', path: ['input', 'items', '0', 'lessonId'] }]);
    expect(sync.syncProgress.lessons.map((l: { lesson: { id: string } }) => l.lesson.id)).toEqual([L(one.video)]);
  });

  it('puts an enrollment projected after its offering moved on the offering’s version', async () => {
    const offering = randomUUID();
    await enrollIn(offering, randomUUID()); // learning knows the offering
    await applyEvent(h.orm, handlers, versionChanged(offering));
    // A LearnerEnrolled recorded before the change, delivered after it.
    const late = await enrollIn(offering, randomUUID(), v1.versionId);
    expect((await rows(late)).enrollment.course_version_id).toBe(v2.versionId);
  });
});
