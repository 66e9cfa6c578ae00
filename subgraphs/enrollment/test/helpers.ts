// Shared set-up of the enrollment integration tests: a fresh database per test file, identity
// and catalog started in-process on it (their internal endpoints are real), the enrollment
// subgraph (and, when asked, its worker) on the same database under a private Redis prefix.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Actor, Role } from '@lectern/kernel/actor';
import { globalId } from '@lectern/kernel';
import { eventQueueName } from '@lectern/kernel/queues';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { jobQueueName, type RunningWorker } from '@lectern/kernel/worker';
import { actor, createTestDatabase, idem, type TestDatabase, ok, adminPool } from '@lectern/testkit';
export { call, errorCode, ok } from '@lectern/testkit';
import { loadEnv as identityEnv, migrations as identityMigrations, startIdentity } from '@lectern/identity/server';
import { seedOrganizationWithPeople } from '@lectern/identity/testing';
import { loadEnv as catalogEnv, migrations as catalogMigrations, startCatalog } from '@lectern/catalog/server';
import { seedCourse } from '@lectern/catalog/testing';
import { loadEnv, migrations, startEnrollment, startEnrollmentWorker, type EnrollmentEnv } from '../src/server.ts';
import type { EnrollmentWorkerRuntime } from '../src/worker.ts';

export { idem, globalId };

/** Global ids of the objects tests name (clients only ever see these). */
export const gid = {
  user: (uuid: string) => globalId('User', uuid),
  course: (uuid: string) => globalId('Course', uuid),
  version: (uuid: string) => globalId('CourseVersion', uuid),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface Harness {
  db: TestDatabase;
  env: EnrollmentEnv;
  identity: RunningSubgraph<Parameters<typeof startIdentity>[0]>;
  catalog: RunningSubgraph<Parameters<typeof startCatalog>[0]>;
  enrollment: RunningSubgraph<EnrollmentEnv>;
  worker: RunningWorker<EnrollmentEnv, EnrollmentWorkerRuntime> | null;
  url: string;
  admin: pg.Pool;
  close(): Promise<void>;
}

export async function startHarness(label: string, opts: { worker?: boolean; env?: Record<string, string> } = {}): Promise<Harness> {
  const db = await createTestDatabase({ identity: identityMigrations, catalog: catalogMigrations, enrollment: migrations }, label);
  const cleanups: (() => Promise<unknown>)[] = [() => db.drop()];
  const close = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  try {
    const identity = await startIdentity(identityEnv({ ...db.env }));
    cleanups.push(() => identity.close());
    const catalog = await startCatalog(catalogEnv({ ...db.env }));
    cleanups.push(() => catalog.close());
    const env = loadEnv({ ...db.env, IDENTITY_URL: identity.url, CATALOG_URL: catalog.url, WORKER_PORT: '0', DATABASE_POOL_MAX: '10', ...opts.env });
    const enrollment = await startEnrollment(env);
    cleanups.push(() => enrollment.close());
    const worker = opts.worker ? await startEnrollmentWorker(env, { port: 0 }) : null;
    if (worker) {
      cleanups.push(async () => {
        for (const q of [eventQueueName('enrollment'), jobQueueName('enrollment')]) await worker.deps.queues(q).obliterate({ force: true }).catch(() => {});
      });
      cleanups.push(() => worker.close());
    }
    const admin = adminPool(db, 3);
    cleanups.push(() => admin.end());
    return { db, env, identity, catalog, enrollment, worker, url: enrollment.url, admin, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** An organization seeded in identity (admin, instructor, two learners) with actors. */
export async function seedOrg(h: Harness, slug: string) {
  const people = await seedOrganizationWithPeople(h.identity.deps.orm, slug);
  const tenantId = people.org.id;
  const as = (who: { id: string; roles: Role[] }): Actor => actor({ userId: who.id, tenantId, roles: who.roles });
  return {
    ...people,
    tenantId,
    admin: as(people.admin),
    instructor: as(people.instructor),
    learner: as(people.learner),
    learner2: as(people.learner2),
    /** A learner identity knows nothing of (self-enrollment needs no lookup). */
    anyLearner: (): Actor => actor({ tenantId, roles: ['LEARNER'] }),
    /** Global User ids of the seeded people. */
    ids: {
      admin: gid.user(people.admin.id),
      instructor: gid.user(people.instructor.id),
      learner: gid.user(people.learner.id),
      learner2: gid.user(people.learner2.id),
    },
  };
}
export type Org = Awaited<ReturnType<typeof seedOrg>>;

export async function publishedCourse(h: Harness, org: Org, opts: { prerequisiteCourseIds?: string[]; published?: boolean } = {}) {
  return seedCourse(h.catalog.deps.orm, {
    tenantId: org.tenantId,
    authorId: org.admin.userId!,
    title: `Course ${randomUUID().slice(0, 8)}`,
    published: opts.published ?? true,
    prerequisiteCourseIds: opts.prerequisiteCourseIds,
  });
}


/** A course's published version, as catalog says (UUIDs). */
export async function publishedVersionOf(h: Harness, tenantId: string, courseId: string): Promise<string> {
  const { rows } = await h.admin.query<{ v: string }>('select published_version_id as v from catalog.courses where tenant_id = $1 and id = $2', [tenantId, courseId]);
  return rows[0]!.v;
}

/**
 * Publishes a new version of a published course, as catalog's publishCourse leaves it (the
 * previous version SUPERSEDED); returns the new version's UUID. Straight in catalog's tables:
 * enrollment's tests need catalog's answer, not its authoring flow.
 */
export async function republish(h: Harness, courseId: string): Promise<string> {
  const { rows } = await h.admin.query<{ v: string }>(
    `with old as (update catalog.course_versions set status = 'SUPERSEDED', updated_at = now() where course_id = $1 and status = 'PUBLISHED' returning *),
          fresh as (insert into catalog.course_versions (id, tenant_id, course_id, number, title, description, status, based_on_version_id, published_at)
                    select gen_random_uuid(), tenant_id, course_id, (select max(number) + 1 from catalog.course_versions where course_id = $1), title, description, 'PUBLISHED', id, now() from old
                    returning id)
     update catalog.courses set published_version_id = (select id from fresh), latest_version_id = (select id from fresh) where id = $1 returning published_version_id as v`,
    [courseId],
  );
  return rows[0]!.v;
}

export const M = {
  createOffering: `mutation($input: CreateOfferingInput!) { createOffering(input: $input) { offering { id courseVersion { id } selfEnrollment waitlistEnabled course { id } prerequisiteCourses { id } } errors { code message path } } }`,
  updateOffering: `mutation($input: UpdateOfferingInput!) { updateOffering(input: $input) { offering { id title endsAt } errors { code message } } }`,
  createCohort: `mutation($input: CreateCohortInput!) { createCohort(input: $input) { cohort { id name capacity seatsTaken instructors { id } } errors { code message path } } }`,
  updateCohort: `mutation($input: UpdateCohortInput!) { updateCohort(input: $input) { cohort { id capacity seatsTaken waitlistCount } promoted { id status } errors { code message } } }`,
  setInstructors: `mutation($input: SetCohortInstructorsInput!) { setCohortInstructors(input: $input) { cohort { id instructors { id } } errors { code message path } } }`,
  enroll: `mutation($input: EnrollLearnerInput!) { enrollLearner(input: $input) { enrollment { id status waitlistPosition learner { id } } errors { code message path } } }`,
  drop: `mutation($input: DropEnrollmentInput!) { dropEnrollment(input: $input) { enrollment { id status } promoted { id status learner { id } } errors { code message } } }`,
  move: `mutation($input: MoveEnrollmentInput!) { moveEnrollment(input: $input) { enrollment { id status cohort { id } } promoted { id } errors { code message } } }`,
  importRoster: `mutation($input: ImportRosterInput!) { importRoster(input: $input) { rosterImport { id status total processed rejected } errors { code message } } }`,
  changeVersion: `mutation($input: ChangeOfferingVersionInput!) { changeOfferingVersion(input: $input) {
    offering { id courseVersion { id } }
    versionChange { id offering { id } fromVersion { id } toVersion { id } changedBy { id } reason changedAt }
    errors { code message path } } }`,
};

const DAY = 24 * 3600 * 1000;

/** An offering (self-enrollment on, window open) with one cohort, through the API; ids are global but `courseUuid`. */
export async function offeringWithCohort(
  h: Harness,
  org: Org,
  opts: { capacity?: number; waitlist?: boolean; selfEnrollment?: boolean; courseId?: string; instructorIds?: string[]; window?: { opensAt?: Date; closesAt?: Date } } = {},
) {
  /** `opts.courseId` and `instructorIds` are UUIDs (as seeds return them). */
  const courseUuid = opts.courseId ?? (await publishedCourse(h, org)).id;
  const courseId = gid.course(courseUuid);
  const created = await ok(h, org.admin, M.createOffering, {
    input: {
      courseId,
      startsAt: new Date(Date.now() - DAY).toISOString(),
      endsAt: new Date(Date.now() + 30 * DAY).toISOString(),
      enrollmentOpensAt: opts.window?.opensAt?.toISOString(),
      enrollmentClosesAt: opts.window?.closesAt?.toISOString(),
      selfEnrollment: opts.selfEnrollment ?? true,
      waitlistEnabled: opts.waitlist ?? false,
      idempotencyKey: idem(),
    },
  });
  if (created.createOffering.errors.length) throw new Error(JSON.stringify(created.createOffering.errors));
  const offeringId: string = created.createOffering.offering.id;
  const cohort = await ok(h, org.admin, M.createCohort, {
    input: { offeringId, name: 'Cohort A', capacity: opts.capacity ?? 10, instructorIds: (opts.instructorIds ?? [org.instructor.userId!]).map(gid.user), idempotencyKey: idem() },
  });
  if (cohort.createCohort.errors.length) throw new Error(JSON.stringify(cohort.createCohort.errors));
  return { courseId, courseUuid, offeringId, cohortId: cohort.createCohort.cohort.id as string };
}

/** `learnerId`: a UUID (as actors carry them); sent as a User global id. */
export async function enroll(h: Harness, who: Actor, cohortId: string, learnerId?: string) {
  return (await ok(h, who, M.enroll, { input: { cohortId, learnerId: learnerId ? gid.user(learnerId) : undefined, idempotencyKey: idem() } })).enrollLearner;
}

export async function outboxTypes(h: Harness): Promise<Record<string, number>> {
  const { rows } = await h.admin.query<{ type: string; n: string }>('select type, count(*) as n from enrollment.outbox group by type');
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}
