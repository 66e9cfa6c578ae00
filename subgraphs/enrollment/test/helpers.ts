// Shared set-up of the enrollment integration tests: a fresh database per test file, identity
// and catalog started in-process on it (their internal endpoints are real), the enrollment
// subgraph (and, when asked, its worker) on the same database under a private Redis prefix.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Actor, Role } from '@lectern/kernel/actor';
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

export { idem };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface Harness {
  db: TestDatabase;
  env: EnrollmentEnv;
  identity: RunningSubgraph<Parameters<typeof startIdentity>[0]>;
  catalog: RunningSubgraph<Parameters<typeof startCatalog>[0]>;
  enrollment: RunningSubgraph<EnrollmentEnv>;
  worker: RunningWorker<EnrollmentEnv> | null;
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


export const M = {
  createOffering: `mutation($input: CreateOfferingInput!) { createOffering(input: $input) { offering { id courseVersionId selfEnrollment waitlistEnabled course { id } prerequisiteCourses { id } } errors { code message field } } }`,
  updateOffering: `mutation($input: UpdateOfferingInput!) { updateOffering(input: $input) { offering { id title endsAt } errors { code message } } }`,
  createCohort: `mutation($input: CreateCohortInput!) { createCohort(input: $input) { cohort { id name capacity seatsTaken instructors { id } } errors { code message field } } }`,
  updateCohort: `mutation($input: UpdateCohortInput!) { updateCohort(input: $input) { cohort { id capacity seatsTaken waitlistCount } promoted { id status } errors { code message } } }`,
  setInstructors: `mutation($input: SetCohortInstructorsInput!) { setCohortInstructors(input: $input) { cohort { id instructors { id } } errors { code message } } }`,
  enroll: `mutation($input: EnrollLearnerInput!) { enrollLearner(input: $input) { enrollment { id status waitlistPosition learner { id } } errors { code message field } } }`,
  drop: `mutation($input: DropEnrollmentInput!) { dropEnrollment(input: $input) { enrollment { id status } promoted { id status learner { id } } errors { code message } } }`,
  move: `mutation($input: MoveEnrollmentInput!) { moveEnrollment(input: $input) { enrollment { id status cohort { id } } promoted { id } errors { code message } } }`,
  importRoster: `mutation($input: ImportRosterInput!) { importRoster(input: $input) { rosterImport { id status total processed rejected } errors { code message } } }`,
};

const DAY = 24 * 3600 * 1000;

/** An offering (self-enrollment on, window open) with one cohort, through the API. */
export async function offeringWithCohort(
  h: Harness,
  org: Org,
  opts: { capacity?: number; waitlist?: boolean; selfEnrollment?: boolean; courseId?: string; instructorIds?: string[]; window?: { opensAt?: Date; closesAt?: Date } } = {},
) {
  const courseId = opts.courseId ?? (await publishedCourse(h, org)).id;
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
    input: { offeringId, name: 'Cohort A', capacity: opts.capacity ?? 10, instructorIds: opts.instructorIds ?? [org.instructor.userId], idempotencyKey: idem() },
  });
  if (cohort.createCohort.errors.length) throw new Error(JSON.stringify(cohort.createCohort.errors));
  return { courseId, offeringId, cohortId: cohort.createCohort.cohort.id as string };
}

export async function enroll(h: Harness, who: Actor, cohortId: string, learnerId?: string) {
  return (await ok(h, who, M.enroll, { input: { cohortId, learnerId, idempotencyKey: idem() } })).enrollLearner;
}

export async function outboxTypes(h: Harness): Promise<Record<string, number>> {
  const { rows } = await h.admin.query<{ type: string; n: string }>('select type, count(*) as n from enrollment.outbox group by type');
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}
