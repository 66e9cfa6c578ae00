// Prerequisites and learning's CourseCompleted: refused until the prerequisite is completed;
// a completion consumed twice (or two completions of one enrollment) completes it once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventQueueName } from '@lectern/kernel/queues';
import { CourseCompleted } from '@lectern/contracts/learning';
import { settled } from '@lectern/testkit';
import { globalId, parseGlobalId } from '@lectern/kernel';

/** The UUID inside a global id (events and SQL keep UUIDs). */
const uuid = (id: string) => parseGlobalId(id)!.keys[0]!;
import { enroll, offeringWithCohort, outboxTypes, publishedCourse, seedOrg, startHarness, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;

beforeAll(async () => {
  h = await startHarness('completion', { worker: true });
  org = await seedOrg(h, 'completion-org');
});
afterAll(async () => {
  await h?.close();
});

async function completed(payload: { enrollmentId: string; learnerId: string; courseId: string; courseVersionId: string }, id = randomUUID()) {
  const event = { id, type: CourseCompleted.type, version: 1, tenantId: org.tenantId, aggregateId: payload.enrollmentId, occurredAt: new Date().toISOString(), payload };
  // Each delivery is its own job (a redelivery of the same event too): wait until the worker has finished it.
  const queue = h.worker!.deps.queues(eventQueueName('enrollment'));
  const jobId = `${id}-${randomUUID()}`;
  await queue.add(event.type, event, { jobId });
  const { state, job } = await settled(queue, jobId);
  if (state !== 'completed') throw new Error(`event job ${jobId} ${state}: ${job.failedReason}`);
  return id;
}

describe('prerequisites and completion', () => {
  it('refuses until the prerequisite is completed, then completes the enrollment exactly once', async () => {
    const prerequisite = await publishedCourse(h, org);
    const course = await publishedCourse(h, org, { prerequisiteCourseIds: [prerequisite.id] });
    const { cohortId, offeringId } = await offeringWithCohort(h, org, { courseId: course.id, capacity: 3 });
    const learner = org.anyLearner();

    const refused = await enroll(h, learner, cohortId);
    expect(refused.enrollment).toBeNull();
    expect(refused.errors[0].code).toBe('PREREQUISITES_NOT_MET');
    expect(refused.errors[0].message).toContain(globalId('Course', prerequisite.id));

    await completed({ enrollmentId: randomUUID(), learnerId: learner.userId!, courseId: prerequisite.id, courseVersionId: randomUUID() });
    const accepted = await enroll(h, learner, cohortId);
    expect(accepted.errors).toEqual([]);
    expect(accepted.enrollment.status).toBe('ACTIVE');

    const { rows: o } = await h.admin.query('select course_version_id from enrollment.offerings where id = $1', [uuid(offeringId)]);
    const before = (await outboxTypes(h))['enrollment.EnrollmentCompleted'] ?? 0;
    const payload = { enrollmentId: uuid(accepted.enrollment.id), learnerId: learner.userId!, courseId: course.id, courseVersionId: o[0].course_version_id };
    const eventId = await completed(payload);
    await completed(payload, eventId); // redelivered
    await completed(payload); // a second completion of the same enrollment
    expect((await outboxTypes(h))['enrollment.EnrollmentCompleted']).toBe(before + 1);
    const { rows } = await h.admin.query('select status, completed_at from enrollment.enrollments where id = $1', [uuid(accepted.enrollment.id)]);
    expect(rows[0].status).toBe('COMPLETED');
    const { rows: ev } = await h.admin.query(`select payload from enrollment.outbox where type = 'enrollment.EnrollmentCompleted' and aggregate_id = $1`, [uuid(accepted.enrollment.id)]);
    expect(Object.keys(ev[0].payload).sort()).toEqual(['cohortId', 'courseId', 'courseVersionId', 'enrollmentId', 'learnerId', 'offeringId']);
  });
});
