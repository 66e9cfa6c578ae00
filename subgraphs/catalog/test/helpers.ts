// Shared set-up of the catalog integration tests: a fresh database per test file (created and
// dropped by the test kit), the subgraph started in-process on it (with identity beside it
// when a test needs real people: who may author is identity's answer; and always a stub of
// media's video-status endpoint, whose library the test fills: a lesson's video must exist
// there), and callers with signed actor contexts. Tests send and compare global ids, as clients do.
import { randomUUID } from 'node:crypto';
import type { Actor, Role } from '@lectern/kernel/actor';
import { globalId } from '@lectern/kernel/ids';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { actor, createTestDatabase, idem, type TestDatabase, ok } from '@lectern/testkit';
export { call, errorCode, ok } from '@lectern/testkit';
import { loadEnv as identityEnv, migrations as identityMigrations, startIdentity } from '@lectern/identity/server';
import { seedMember, seedOrganizationWithPeople } from '@lectern/identity/testing';
import { loadEnv, startCatalog, type CatalogEnv } from '../src/server.ts';
import { startMediaStub, type MediaStub } from './media-stub.ts';

/** Global ids of plain UUIDs (seeds and SQL return plain ones). */
export const gid = {
  course: (id: string) => globalId('Course', id),
  version: (id: string) => globalId('CourseVersion', id),
  module: (id: string) => globalId('Module', id),
  lesson: (id: string) => globalId('Lesson', id),
  user: (id: string) => globalId('User', id),
  video: (id: string) => globalId('VideoAsset', id),
};

/** Nothing listens here: identity "down". */
export const UNREACHABLE_IDENTITY = 'http://127.0.0.1:9/graphql';
/** Nothing listens here either: media "down". */
export const UNREACHABLE_MEDIA = 'http://127.0.0.1:9/graphql';

export { idem };

/** GraphQL response data, navigated freely: the assertions are what pin its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface TestCatalog {
  db: TestDatabase;
  running: RunningSubgraph<CatalogEnv>;
  /** identity, when the test started it (startTestCatalog({ identity: true })). */
  identity: RunningSubgraph<Parameters<typeof startIdentity>[0]> | null;
  /** media's video-status endpoint, stubbed (catalog's MEDIA_URL unless `env` overrides it). */
  media: MediaStub;
  url: string;
  close(): Promise<void>;
}

export async function startTestCatalog(opts: { identity?: boolean; env?: Record<string, string> } = {}): Promise<TestCatalog> {
  const db = await createTestDatabase(opts.identity ? { identity: identityMigrations } : {}, 'catalog');
  let identity: RunningSubgraph<Parameters<typeof startIdentity>[0]> | null = null;
  let media: MediaStub | null = null;
  try {
    if (opts.identity) identity = await startIdentity(identityEnv({ ...db.env }));
    media = await startMediaStub();
    // The subgraph migrates its own schema at start, as in development.
    const running = await startCatalog(
      loadEnv({ ...db.env, MIGRATE_ON_START: 'true', IDENTITY_URL: identity?.url ?? UNREACHABLE_IDENTITY, MEDIA_URL: media.url, ...opts.env }),
    );
    const stub = media;
    return {
      db,
      running,
      identity,
      media: stub,
      url: running.url,
      async close() {
        await running.close();
        await identity?.close();
        await stub.close();
        await db.drop();
      },
    };
  } catch (err) {
    await identity?.close();
    await media?.close();
    await db.drop();
    throw err;
  }
}

/** An organization with one member per role. */
export function organization() {
  const tenantId: string = randomUUID();
  const member = (roles: Role[]) => actor({ tenantId, roles });
  return {
    tenantId,
    admin: member(['ORG_ADMIN']),
    instructor: member(['INSTRUCTOR']),
    otherInstructor: member(['INSTRUCTOR']),
    learner: member(['LEARNER']),
    support: member(['SUPPORT_READONLY']),
    readKey: actor({ tenantId, kind: 'api_key', userId: null, apiKeyId: randomUUID(), scopes: ['catalog:read'] }),
    writeKey: actor({ tenantId, kind: 'api_key', userId: null, apiKeyId: randomUUID(), scopes: ['catalog:write'] }),
  };
}
export type Organization = ReturnType<typeof organization>;

/**
 * An organization that exists in identity (needs startTestCatalog({ identity: true })): the same
 * callers as organization(), the people real members (a second instructor too).
 */
export async function seededOrganization(t: TestCatalog, slug: string): Promise<Organization> {
  if (!t.identity) throw new Error('seededOrganization needs identity: startTestCatalog({ identity: true })');
  const orm = t.identity.deps.orm;
  const people = await seedOrganizationWithPeople(orm, slug);
  const otherInstructor = await seedMember(orm, people.org, { email: `instructor2@${slug}.example`, roles: ['INSTRUCTOR'] });
  const support = await seedMember(orm, people.org, { email: `support@${slug}.example`, roles: ['SUPPORT_READONLY'] });
  const tenantId = people.org.id;
  const as = (who: { id: string; roles: Role[] }): Actor => actor({ userId: who.id, tenantId, roles: who.roles });
  return {
    tenantId,
    admin: as(people.admin),
    instructor: as(people.instructor),
    otherInstructor: as(otherInstructor),
    learner: as(people.learner),
    support: as(support),
    readKey: actor({ tenantId, kind: 'api_key', userId: null, apiKeyId: randomUUID(), scopes: ['catalog:read'] }),
    writeKey: actor({ tenantId, kind: 'api_key', userId: null, apiKeyId: randomUUID(), scopes: ['catalog:write'] }),
  };
}


export const MUTATIONS = {
  createCourse: `mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id slug title status } errors { code message path } } }`,
  updateCourse: `mutation($input: UpdateCourseInput!) { updateCourse(input: $input) { course { id slug title } errors { code message path } } }`,
  addModule: `mutation($input: AddModuleInput!) { addModule(input: $input) { module { id lineageId position title } errors { code } } }`,
  updateModule: `mutation($input: UpdateModuleInput!) { updateModule(input: $input) { module { id lineageId position title } errors { code } } }`,
  removeModule: `mutation($input: RemoveModuleInput!) { removeModule(input: $input) { removedModuleId errors { code } } }`,
  addLesson: `mutation($input: AddLessonInput!) { addLesson(input: $input) { lesson { id lineageId position title kind } errors { code } } }`,
  updateLesson: `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { lesson { id lineageId title body } errors { code } } }`,
  removeLesson: `mutation($input: RemoveLessonInput!) { removeLesson(input: $input) { removedLessonId errors { code } } }`,
  moveLesson: `mutation($input: MoveLessonInput!) { moveLesson(input: $input) { lesson { id position module { id } } errors { code } } }`,
  publishCourse: `mutation($input: PublishCourseInput!) { publishCourse(input: $input) { course { id status } errors { code message path } } }`,
  unpublishCourse: `mutation($input: UnpublishCourseInput!) { unpublishCourse(input: $input) { course { id status } errors { code message } } }`,
  addCoursePrerequisite: `mutation($input: AddCoursePrerequisiteInput!) { addCoursePrerequisite(input: $input) { course { id prerequisites { id } } errors { code path } } }`,
  removeCourseAuthor: `mutation($input: RemoveCourseAuthorInput!) { removeCourseAuthor(input: $input) { course { id authors { id } } errors { code message path } } }`,
  addCourseAuthor: `mutation($input: AddCourseAuthorInput!) { addCourseAuthor(input: $input) { course { id authors { id } } errors { code message path } } }`,
};

/** Creates a course with one module and one TEXT lesson through the API; optionally publishes it. */
export async function authorCourse(t: TestCatalog, who: Actor, title: string, opts: { publish?: boolean; description?: string } = {}) {
  const created = await ok(t, who, MUTATIONS.createCourse, { input: { title, description: opts.description ?? '', idempotencyKey: idem() } });
  const courseId: string = created.createCourse.course.id;
  const mod = await ok(t, who, MUTATIONS.addModule, { input: { courseId, title: 'Module one', idempotencyKey: idem() } });
  const moduleId: string = mod.addModule.module.id;
  const les = await ok(t, who, MUTATIONS.addLesson, { input: { moduleId, title: 'Lesson one', kind: 'TEXT', body: 'Read this.', idempotencyKey: idem() } });
  const lessonId: string = les.addLesson.lesson.id;
  if (opts.publish) {
    const pub = await ok(t, who, MUTATIONS.publishCourse, { input: { courseId, idempotencyKey: idem() } });
    if (pub.publishCourse.errors.length) throw new Error(`publish failed: ${JSON.stringify(pub.publishCourse.errors)}`);
  }
  return { courseId, moduleId, lessonId };
}
