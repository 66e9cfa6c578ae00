// Foreign references: a course's authors are identity's people. addCourseAuthor stores a user
// id only after identity says the person is an active ORG_ADMIN or INSTRUCTOR member of the
// same organization; anyone else (an unknown id, another organization's user, a learner) gets
// one and the same typed error, and identity being down is SERVICE_UNAVAILABLE, not a guess.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf } from '@lectern/kernel/ids';
import type { RunningSubgraph } from '@lectern/kernel/subgraph';
import { adminPool } from '@lectern/testkit';
import { seedMember } from '@lectern/identity/testing';
import { loadEnv, startCatalog, type CatalogEnv } from '../src/server.ts';
import {
  MUTATIONS,
  UNREACHABLE_IDENTITY,
  authorCourse,
  call,
  errorCode,
  gid,
  idem,
  ok,
  seededOrganization,
  startTestCatalog,
  type Data,
  type Organization,
  type TestCatalog,
} from './helpers.ts';

let t: TestCatalog;
let A: Organization;
let B: Organization;

beforeAll(async () => {
  t = await startTestCatalog({ identity: true });
  A = await seededOrganization(t, 'acme-authors');
  B = await seededOrganization(t, 'globex-authors');
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const AUTHORS = `query($id: ID!) { course(id: $id) { authors { id } } }`;
const authorsOf = async (courseId: string, who = A.admin): Promise<string[]> =>
  ((await ok(t, who, AUTHORS, { id: courseId })).course.authors as { id: string }[]).map((a) => a.id);

describe('addCourseAuthor checks the person with identity', () => {
  it('refuses an unknown id, another organization’s instructor and members without an authoring role alike, and stores nothing', async () => {
    const { courseId } = await authorCourse(t, A.admin, 'Guarded authorship', { publish: true });
    const candidates = {
      unknown: gid.user(randomUUID()),
      otherOrganizationsInstructor: gid.user(B.instructor.userId!),
      otherOrganizationsAdmin: gid.user(B.admin.userId!),
      learner: gid.user(A.learner.userId!),
      support: gid.user(A.support.userId!),
    };
    const answers: Record<string, Data> = {};
    for (const [name, userId] of Object.entries(candidates)) {
      answers[name] = (await ok(t, A.admin, MUTATIONS.addCourseAuthor, { input: { courseId, userId, idempotencyKey: idem() } })).addCourseAuthor;
    }
    const refused = {
      code: 'AUTHOR_NOT_ELIGIBLE',
      message: 'Only active ORG_ADMIN or INSTRUCTOR members of this organization can author its courses',
      path: ['input', 'userId'],
    };
    for (const [name, answer] of Object.entries(answers)) {
      // Exactly the same answer whoever the id names: nothing to learn about other organizations.
      expect(answer, name).toEqual({ course: { id: courseId, authors: [{ id: gid.user(A.admin.userId!) }] }, errors: [refused] });
    }
    expect(await authorsOf(courseId)).toEqual([gid.user(A.admin.userId!)]);
    // Learners keep seeing the course with its (real) authors.
    expect(await authorsOf(courseId, A.learner)).toEqual([gid.user(A.admin.userId!)]);
    const admin = adminPool(t.db);
    try {
      const { rows } = await admin.query<{ user_id: string }>('select user_id from catalog.course_authors where course_id = $1', [idOf(courseId, 'Course')]);
      expect(rows.map((r) => r.user_id)).toEqual([A.admin.userId]);
    } finally {
      await admin.end();
    }
  });

  it('adds active ORG_ADMIN and INSTRUCTOR members of the organization', async () => {
    const { courseId } = await authorCourse(t, A.instructor, 'Shared authorship');
    for (const who of [A.otherInstructor, A.admin]) {
      const r = await ok(t, A.instructor, MUTATIONS.addCourseAuthor, { input: { courseId, userId: gid.user(who.userId!), idempotencyKey: idem() } });
      expect(r.addCourseAuthor.errors).toEqual([]);
    }
    expect((await authorsOf(courseId)).sort()).toEqual([A.instructor, A.otherInstructor, A.admin].map((a) => gid.user(a.userId!)).sort());
    // Adding an existing author again changes nothing.
    const again = await ok(t, A.instructor, MUTATIONS.addCourseAuthor, { input: { courseId, userId: gid.user(A.admin.userId!), idempotencyKey: idem() } });
    expect(again.addCourseAuthor.errors).toEqual([]);
    expect(await authorsOf(courseId)).toHaveLength(3);
  });

  it('refuses ids that are not User ids with BAD_USER_INPUT naming the field', async () => {
    const { courseId } = await authorCourse(t, A.admin, 'Typed ids');
    for (const userId of [A.instructor.userId, courseId, 'nope']) {
      const r = await call(t, A.admin, MUTATIONS.addCourseAuthor, { input: { courseId, userId, idempotencyKey: idem() } });
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
    }
  });

  it('answers SERVICE_UNAVAILABLE while identity is down, stores nothing, and succeeds with the same key once it answers', async () => {
    const { courseId } = await authorCourse(t, A.admin, 'Identity outage');
    // A second catalog process on the same database whose identity does not answer.
    const isolated: RunningSubgraph<CatalogEnv> = await startCatalog(loadEnv({ ...t.db.env, IDENTITY_URL: UNREACHABLE_IDENTITY }));
    try {
      const input = { courseId, userId: gid.user(A.instructor.userId!), idempotencyKey: idem() };
      const down = await call(isolated, A.admin, MUTATIONS.addCourseAuthor, { input });
      expect(errorCode(down)).toBe('SERVICE_UNAVAILABLE');
      expect(down.errors?.[0]?.extensions?.retryAfterSeconds).toEqual(expect.any(Number));
      expect(await authorsOf(courseId)).toEqual([gid.user(A.admin.userId!)]);
      const up = await ok(t, A.admin, MUTATIONS.addCourseAuthor, { input });
      expect(up.addCourseAuthor.errors).toEqual([]);
      expect(await authorsOf(courseId)).toEqual([A.admin, A.instructor].map((a) => gid.user(a.userId!)));
    } finally {
      await isolated.close();
    }
  });
});

describe('a reference that stops resolving later', () => {
  it('keeps the removed member’s reference, which identity then answers with null (one entry, not the page)', async () => {
    const { courseId } = await authorCourse(t, A.admin, 'Outlived author', { publish: true });
    const leaving = await seedMember(t.identity!.deps.orm, { id: A.tenantId, slug: 'acme-authors', name: 'Acme Authors' }, {
      email: `leaving-${randomUUID().slice(0, 8)}@acme-authors.example`,
      roles: ['INSTRUCTOR'],
    });
    const added = await ok(t, A.admin, MUTATIONS.addCourseAuthor, { input: { courseId, userId: gid.user(leaving.id), idempotencyKey: idem() } });
    expect(added.addCourseAuthor.errors).toEqual([]);
    // The person leaves the organization (identity deletes the membership).
    const admin = adminPool(t.db);
    try {
      await admin.query('delete from identity.memberships where tenant_id = $1 and user_id = $2', [A.tenantId, leaving.id]);
    } finally {
      await admin.end();
    }
    // Catalog still lists both references (it cannot know); identity resolves the member and
    // answers null for the one who left: with `[User]!` that is one null entry of the list.
    const refs = (await ok(t, A.learner, `query($id: ID!) { course(id: $id) { authors { __typename id } } }`, { id: courseId })).course.authors;
    expect(refs).toEqual([{ __typename: 'User', id: gid.user(A.admin.userId!) }, { __typename: 'User', id: gid.user(leaving.id) }]);
    const resolved = await ok(t.identity!, A.learner, `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id displayName } } }`, { reps: refs });
    expect(resolved._entities).toEqual([{ id: gid.user(A.admin.userId!), displayName: 'Ada Admin' }, null]);
  });


  it('types authors as [User]!: a removed member’s entry is null, never the page', async () => {
    const r = await ok(
      t,
      A.learner,
      `{ __type(name: "Course") { fields { name type { kind ofType { kind ofType { kind name } } } } } }`,
    );
    const authors = r.__type.fields.find((f: { name: string }) => f.name === 'authors');
    // NON_NULL list of nullable User: the gateway puts null in place of a User identity no longer resolves.
    expect(authors.type).toEqual({ kind: 'NON_NULL', ofType: { kind: 'LIST', ofType: { kind: 'OBJECT', name: 'User' } } });
  });
});
