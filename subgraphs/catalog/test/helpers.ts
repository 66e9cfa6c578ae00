// Shared set-up of the catalog integration tests: a fresh database per test file (created and
// dropped by the test kit), the subgraph started in-process on it, and callers with signed
// actor contexts.
import { randomUUID } from 'node:crypto';
import type { Actor, Role } from '@lectern/kernel/actor';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { actor, createTestDatabase, idem, type TestDatabase, ok } from '@lectern/testkit';
export { call, errorCode, ok } from '@lectern/testkit';
import { loadEnv, startCatalog, type CatalogEnv } from '../src/server.ts';

export { idem };

/** GraphQL response data, navigated freely: the assertions are what pin its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = any;

export interface TestCatalog {
  db: TestDatabase;
  running: RunningSubgraph<CatalogEnv>;
  url: string;
  close(): Promise<void>;
}

export async function startTestCatalog(): Promise<TestCatalog> {
  const db = await createTestDatabase({}, 'catalog');
  try {
    // The subgraph migrates its own schema at start, as in development.
    const running = await startCatalog(loadEnv({ ...db.env, MIGRATE_ON_START: 'true' }));
    return {
      db,
      running,
      url: running.url,
      async close() {
        await running.close();
        await db.drop();
      },
    };
  } catch (err) {
    await db.drop();
    throw err;
  }
}

/** An organization with one member per role. */
export function organization() {
  const tenantId = randomUUID();
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


export const MUTATIONS = {
  createCourse: `mutation($input: CreateCourseInput!) { createCourse(input: $input) { course { id slug title status } errors { code message field } } }`,
  updateCourse: `mutation($input: UpdateCourseInput!) { updateCourse(input: $input) { course { id slug title } errors { code message field } } }`,
  addModule: `mutation($input: AddModuleInput!) { addModule(input: $input) { module { id lineageId position title } errors { code } } }`,
  updateModule: `mutation($input: UpdateModuleInput!) { updateModule(input: $input) { module { id lineageId position title } errors { code } } }`,
  removeModule: `mutation($input: RemoveModuleInput!) { removeModule(input: $input) { removedModuleId errors { code } } }`,
  addLesson: `mutation($input: AddLessonInput!) { addLesson(input: $input) { lesson { id lineageId position title kind } errors { code } } }`,
  updateLesson: `mutation($input: UpdateLessonInput!) { updateLesson(input: $input) { lesson { id lineageId title body } errors { code } } }`,
  removeLesson: `mutation($input: RemoveLessonInput!) { removeLesson(input: $input) { removedLessonId errors { code } } }`,
  moveLesson: `mutation($input: MoveLessonInput!) { moveLesson(input: $input) { lesson { id position module { id } } errors { code } } }`,
  publishCourse: `mutation($input: PublishCourseInput!) { publishCourse(input: $input) { course { id status } errors { code message field } } }`,
  unpublishCourse: `mutation($input: UnpublishCourseInput!) { unpublishCourse(input: $input) { course { id status } errors { code message } } }`,
  addCoursePrerequisite: `mutation($input: AddCoursePrerequisiteInput!) { addCoursePrerequisite(input: $input) { course { id prerequisites { id } } errors { code field } } }`,
  addCourseAuthor: `mutation($input: AddCourseAuthorInput!) { addCourseAuthor(input: $input) { course { id authors { id } } errors { code } } }`,
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
