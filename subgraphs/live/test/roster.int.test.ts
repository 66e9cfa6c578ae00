// The roster projection (enrollment's events → who may see and join a session): each event
// applies once however often it is delivered, drops and moves change access at once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CohortInstructorsChanged, LearnerEnrolled } from '@lectern/contracts/enrollment';
import { envelope } from '../src/testing/index.ts';
import { dropped, idem, M, moved, ok, organization, roster, scheduleSession, startHarness, type Harness, type Org } from './helpers.ts';

let h: Harness;
let org: Org;

beforeAll(async () => {
  h = await startHarness('liveroster');
  org = await organization(h);
});
afterAll(() => h?.close());

const SEES = `query($id: ID!) { session(id: $id) { id viewerCanManage } }`;
const sees = async (who: Org['learner'], id: string) => (await ok(h, who, SEES, { id })).session;

describe('roster projection', () => {
  it('applies each event once: a redelivery is a duplicate and changes nothing', async () => {
    const learnerId = randomUUID();
    const enrollmentId = randomUUID();
    const event = envelope(LearnerEnrolled, {
      tenantId: org.tenantId,
      aggregateId: enrollmentId,
      payload: { enrollmentId, learnerId, offeringId: org.offeringId, cohortId: org.cohortA, courseId: randomUUID(), courseVersionId: randomUUID(), promotedFromWaitlist: false },
    });
    expect(await roster(h, event)).toBe('processed');
    expect(await roster(h, event)).toBe('duplicate');
    const drop = dropped(org.tenantId, { enrollmentId, learnerId, offeringId: org.offeringId, cohortId: org.cohortA });
    expect(await roster(h, drop)).toBe('processed');
    // The same enrollment announced again (a replay of an old event with a new id) does not revive it.
    expect(await roster(h, { ...event, id: randomUUID() })).toBe('processed');
    const { rows } = await h.admin.query('select status, count(*) over () as n from live.roster_enrollments where enrollment_id = $1', [enrollmentId]);
    expect(rows).toEqual([{ status: 'DROPPED', n: '1' }]);
    const instr = envelope(CohortInstructorsChanged, { tenantId: org.tenantId, payload: { cohortId: org.cohortA, offeringId: org.offeringId, instructorIds: [org.instructor.userId!, org.instructor.userId!] } });
    expect(await roster(h, instr)).toBe('processed');
    expect(await roster(h, instr)).toBe('duplicate');
    const cohorts = await h.admin.query('select instructor_ids from live.roster_cohorts where cohort_id = $1', [org.cohortA]);
    expect(cohorts.rows[0].instructor_ids).toEqual([org.instructor.userId]);
  });

  it('a dropped learner no longer sees the session; a moved one follows their cohort', async () => {
    const onlyA = await scheduleSession(h, org, { cohortIds: [org.cohortA] });
    expect(await sees(org.learner2, onlyA)).not.toBeNull();
    await roster(h, moved(org.tenantId, { enrollmentId: org.enrollments[org.learner2.userId!]!, learnerId: org.learner2.userId!, offeringId: org.offeringId, fromCohortId: org.cohortA, toCohortId: org.cohortB }));
    expect(await sees(org.learner2, onlyA)).toBeNull();
    await roster(h, moved(org.tenantId, { enrollmentId: org.enrollments[org.learner2.userId!]!, learnerId: org.learner2.userId!, offeringId: org.offeringId, fromCohortId: org.cohortB, toCohortId: org.cohortA }));
    expect(await sees(org.learner2, onlyA)).not.toBeNull();
    await roster(h, dropped(org.tenantId, { enrollmentId: org.enrollments[org.learner2.userId!]!, learnerId: org.learner2.userId!, offeringId: org.offeringId, cohortId: org.cohortA }));
    expect(await sees(org.learner2, onlyA)).toBeNull();
  });

  it('an instructor removed from a cohort no longer runs its sessions', async () => {
    const id = await scheduleSession(h, org, { cohortIds: [org.cohortB], by: org.instructorB });
    expect((await sees(org.instructorB, id)).viewerCanManage).toBe(true);
    await roster(h, envelope(CohortInstructorsChanged, { tenantId: org.tenantId, payload: { cohortId: org.cohortB, offeringId: org.offeringId, instructorIds: [] } }));
    expect(await sees(org.instructorB, id)).toBeNull();
    const start = await ok(h, org.admin, M.start, { input: { sessionId: id, idempotencyKey: idem() } });
    expect(start.startSession.errors).toEqual([]);
  });
});
