// An offering pins a course version; moving it to a newer published version of its course is
// an explicit ORG_ADMIN action, audited (who, when, from, to, why) and announced
// (OfferingVersionChanged, so learning carries progress over). Catalog's internal structure
// endpoint is asked which versions exist and which one is published.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor } from '@lectern/testkit';
import { parseGlobalId } from '@lectern/kernel';
import { call, enroll, errorCode, gid, idem, M, offeringWithCohort, ok, publishedCourse, publishedVersionOf, republish, seedOrg, startHarness, type Harness, type Org } from './helpers.ts';

let h: Harness;
let a: Org;
let b: Org;

beforeAll(async () => {
  h = await startHarness('offering-version');
  a = await seedOrg(h, 'version-a');
  b = await seedOrg(h, 'version-b');
});
afterAll(async () => {
  await h?.close();
});

const uuid = (id: string) => parseGlobalId(id)!.keys[0]!;
const change = (who: Parameters<typeof ok>[1], offeringId: string, courseVersionId: string, key = idem(), reason = 'Fixes the broken quiz in module 2') =>
  call(h, who, M.changeVersion, { input: { offeringId, courseVersionId, reason, idempotencyKey: key } });
const HISTORY = `query($id: ID!) { offering(id: $id) { courseVersion { id } versionChanges { id fromVersion { id } toVersion { id } changedBy { id } reason changedAt } } }`;

describe('changeOfferingVersion', () => {
  it('moves an offering to the newer published version of its course, audited and announced', async () => {
    const s = await offeringWithCohort(h, a, { capacity: 10 });
    const v1 = await publishedVersionOf(h, a.tenantId, s.courseUuid);
    await enroll(h, a.learner, s.cohortId);
    expect((await ok(h, a.admin, HISTORY, { id: s.offeringId })).offering).toEqual({ courseVersion: { id: gid.version(v1) }, versionChanges: [] });
    const v2 = await republish(h, s.courseUuid);

    // only ORG_ADMIN
    expect(errorCode(await change(a.instructor, s.offeringId, gid.version(v2)))).toBe('FORBIDDEN');
    expect(errorCode(await change(a.learner, s.offeringId, gid.version(v2)))).toBe('FORBIDDEN');
    // another organization's admin does not find the offering
    expect(errorCode(await change(b.admin, s.offeringId, gid.version(v2)))).toBe('NOT_FOUND');

    const key = idem();
    const moved = (await change(a.admin, s.offeringId, gid.version(v2), key)).data!.changeOfferingVersion;
    expect(moved.errors).toEqual([]);
    expect(moved.offering).toEqual({ id: s.offeringId, courseVersion: { id: gid.version(v2) } });
    expect(moved.versionChange).toMatchObject({
      offering: { id: s.offeringId },
      fromVersion: { id: gid.version(v1) },
      toVersion: { id: gid.version(v2) },
      changedBy: { id: a.ids.admin },
      reason: 'Fixes the broken quiz in module 2',
    });
    expect(parseGlobalId(moved.versionChange.id)!.type).toBe('OfferingVersionChange');
    // a replay answers the same, and changes nothing more
    const replay = (await change(a.admin, s.offeringId, gid.version(v2), key)).data!.changeOfferingVersion;
    expect(replay.versionChange.id).toBe(moved.versionChange.id);

    const { rows: events } = await h.admin.query(`select aggregate_id, payload from enrollment.outbox where type = 'enrollment.OfferingVersionChanged' and aggregate_id = $1`, [uuid(s.offeringId)]);
    expect(events).toEqual([
      { aggregate_id: uuid(s.offeringId), payload: { offeringId: uuid(s.offeringId), courseId: s.courseUuid, fromVersionId: v1, toVersionId: v2, changedBy: a.admin.userId } },
    ]);
    const { rows } = await h.admin.query(`select from_version_id, to_version_id, changed_by, reason from enrollment.offering_version_changes where offering_id = $1`, [uuid(s.offeringId)]);
    expect(rows).toEqual([{ from_version_id: v1, to_version_id: v2, changed_by: a.admin.userId, reason: 'Fixes the broken quiz in module 2' }]);

    // new enrollments run the new version
    const e2 = await enroll(h, a.learner2, s.cohortId);
    const { rows: enrolled } = await h.admin.query(`select payload from enrollment.outbox where type = 'enrollment.LearnerEnrolled' and aggregate_id = $1`, [uuid(e2.enrollment.id)]);
    expect(enrolled[0].payload.courseVersionId).toBe(v2);

    // the history: ORG_ADMIN and the offering's instructors; nobody else
    const history = (await ok(h, a.admin, HISTORY, { id: s.offeringId })).offering;
    expect(history.courseVersion).toEqual({ id: gid.version(v2) });
    expect(history.versionChanges).toEqual([moved.versionChange].map(({ offering: _o, ...rest }: Record<string, unknown>) => rest));
    expect((await ok(h, a.instructor, HISTORY, { id: s.offeringId })).offering.versionChanges).toHaveLength(1);
    expect((await ok(h, a.learner, HISTORY, { id: s.offeringId })).offering.versionChanges).toEqual([]);
    const otherInstructor = actor({ tenantId: a.tenantId, roles: ['INSTRUCTOR'] });
    expect((await ok(h, otherInstructor, HISTORY, { id: s.offeringId })).offering.versionChanges).toEqual([]);
    const REFETCH = `query($r: [_Any!]!) { _entities(representations: $r) { ... on OfferingVersionChange { id reason } } }`;
    const r = [{ __typename: 'OfferingVersionChange', id: moved.versionChange.id }];
    expect((await ok(h, a.admin, REFETCH, { r }))._entities).toEqual([{ id: moved.versionChange.id, reason: 'Fixes the broken quiz in module 2' }]);
    expect((await ok(h, a.learner, REFETCH, { r }))._entities).toEqual([null]);
    expect((await ok(h, b.admin, REFETCH, { r }))._entities).toEqual([null]);
    const { rows: rls } = await h.admin.query(`select relrowsecurity and relforcerowsecurity as on from pg_class where oid = 'enrollment.offering_version_changes'::regclass`);
    expect(rls[0].on).toBe(true);
  });

  it('answers typed errors for a version of another course, not published, the same version, or none', async () => {
    const s = await offeringWithCohort(h, a);
    const v1 = await publishedVersionOf(h, a.tenantId, s.courseUuid);
    const v2 = await republish(h, s.courseUuid);
    const codes = async (versionId: string) => {
      const r = (await change(a.admin, s.offeringId, versionId)).data!.changeOfferingVersion;
      expect(r.versionChange).toBeNull();
      expect(r.offering).toEqual({ id: s.offeringId, courseVersion: { id: gid.version(v1) } });
      return r.errors.map((e: { code: string; path: string[] }) => [e.code, e.path.join('.')]);
    };
    expect(await codes(gid.version(v1))).toEqual([['SAME_COURSE_VERSION', 'input.courseVersionId']]);
    const other = await publishedCourse(h, a);
    expect(await codes(gid.version(await publishedVersionOf(h, a.tenantId, other.id)))).toEqual([['COURSE_VERSION_OF_ANOTHER_COURSE', 'input.courseVersionId']]);
    // unknown, and another organization's: the same answer
    const theirs = await publishedCourse(h, b);
    const notFound = [['COURSE_VERSION_NOT_FOUND', 'input.courseVersionId']];
    expect(await codes(gid.version(randomUUID()))).toEqual(notFound);
    expect(await codes(gid.version(await publishedVersionOf(h, b.tenantId, theirs.id)))).toEqual(notFound);
    // v2 was published, then superseded by v3
    await republish(h, s.courseUuid);
    expect(await codes(gid.version(v2))).toEqual([['COURSE_VERSION_NOT_PUBLISHED', 'input.courseVersionId']]);
    // not a CourseVersion id; no reason
    const bad = await change(a.admin, s.offeringId, s.courseId);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.extensions?.field).toBe('courseVersionId');
    expect(errorCode(await change(a.admin, s.offeringId, gid.version(v2), idem(), '  '))).toBe('BAD_USER_INPUT');
    expect((await h.admin.query(`select count(*)::int as n from enrollment.offering_version_changes where offering_id = $1`, [uuid(s.offeringId)])).rows[0].n).toBe(0);
  });
});
