// courses as a Relay connection (order, cursors, filters, limits) and the N+1 guarantee:
// a page of 100 courses with all their relations costs as many SQL statements as a page of 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCourse } from '../src/testing/index.ts';
import { actorHeader } from '@lectern/testkit';
import { call, errorCode, gid, ok, organization, startTestCatalog, type Data, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
const org = organization();
const other = organization();
// 130 courses, every fifth a draft (26 drafts, 104 published): even a learner's first page of
// 100 leaves courses out. Prerequisites all point at the five oldest courses, which are on no
// first page, so a page of 1 and a page of 100 load the same kinds of things.
const COUNT = 130;
const created: string[] = []; // global ids, oldest first
const titles: string[] = []; // in the same order

beforeAll(async () => {
  t = await startTestCatalog();
  const orm = t.running.deps.orm;
  const plain: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const course = await seedCourse(orm, {
      tenantId: org.tenantId,
      authorIds: i % 2 ? [org.admin.userId!, org.instructor.userId!] : [org.instructor.userId!],
      title: `Listed course ${String(i).padStart(3, '0')}${i % 10 === 0 ? ' special' : ''}`,
      published: i % 5 !== 0, // every fifth stays a draft
      modules: [
        { title: 'One', lessons: [{ title: 'a', kind: 'TEXT' }, { title: 'b', kind: 'VIDEO' }] },
        { title: 'Two', lessons: [{ title: 'c', kind: 'QUIZ' }] },
      ],
      prerequisiteCourseIds: i >= 5 ? [plain[i % 5]!] : [],
    });
    plain.push(course.id);
    created.push(gid.course(course.id));
    titles.push(course.title);
  }
  await seedCourse(orm, { tenantId: other.tenantId, authorId: other.admin.userId!, title: 'Other organization', published: true });
}, 180_000);
afterAll(async () => {
  await t?.close();
});

const PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $orderBy: CourseOrder, $filter: CourseFilter) {
  courses(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter) {
    edges { cursor node { id title status } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}`;

const ids = (page: Data): string[] => page.edges.map((e: { node: { id: string } }) => e.node.id);

describe('courses connection', () => {
  it('pages through every course newest first, without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: Data = (await ok(t, org.admin, PAGE, { first: 40, after })).courses;
      seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      expect(page.nodes.map((n: { id: string }) => n.id)).toEqual(page.edges.map((e: { node: { id: string } }) => e.node.id));
      expect(page.pageInfo.hasPreviousPage).toBe(pages > 0);
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(4);
    expect(seen).toEqual([...created].reverse());
  });

  it('pages backward with last/before through the same list, and counts it whole', async () => {
    const seen: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page: Data = (await ok(t, org.admin, PAGE, { last: 40, before })).courses;
      expect(page.totalCount).toBe(COUNT);
      seen.unshift(...ids(page));
      expect(page.pageInfo.hasNextPage).toBe(before !== null);
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(seen).toEqual([...created].reverse());
    // A page forward from a backward page's cursor continues where it ended.
    const last: Data = (await ok(t, org.admin, PAGE, { last: 3 })).courses;
    expect(ids(last)).toEqual(created.slice(0, 3).reverse());
    const middle: Data = (await ok(t, org.admin, PAGE, { first: 2, after: (await ok(t, org.admin, PAGE, { first: 5 })).courses.pageInfo.endCursor })).courses;
    expect(ids(middle)).toEqual([...created].reverse().slice(5, 7));
    expect(errorCode(await call(t, org.admin, PAGE, { first: 1, last: 1 }))).toBe('BAD_USER_INPUT');
  });

  it('orders by title, createdAt, updatedAt and publishedAt, either way, and pages in each', async () => {
    const byTitle = [...created.keys()].sort((a, b) => titles[a]!.toLowerCase().localeCompare(titles[b]!.toLowerCase())).map((i) => created[i]!);
    const readAll = async (orderBy: object, size = 50, backward = false) => {
      const out: string[] = [];
      let cursor: string | null = null;
      for (;;) {
        const page: Data = (await ok(t, org.admin, PAGE, backward ? { last: size, before: cursor, orderBy } : { first: size, after: cursor, orderBy })).courses;
        if (backward) out.unshift(...ids(page));
        else out.push(...ids(page));
        if (!(backward ? page.pageInfo.hasPreviousPage : page.pageInfo.hasNextPage)) return out;
        cursor = backward ? page.pageInfo.startCursor : page.pageInfo.endCursor;
      }
    };
    expect(await readAll({ field: 'TITLE', direction: 'ASC' })).toEqual(byTitle);
    expect(await readAll({ field: 'TITLE', direction: 'DESC' }, 45, true)).toEqual([...byTitle].reverse());
    expect(await readAll({ field: 'CREATED_AT', direction: 'ASC' }, 60)).toEqual(created);
    // Seeds set updatedAt as they go: the same order as createdAt here.
    expect(await readAll({ field: 'UPDATED_AT', direction: 'ASC' }, 70, true)).toEqual(created);
    const published = await readAll({ field: 'PUBLISHED_AT', direction: 'DESC' });
    const publishedIds = created.filter((_, i) => i % 5 !== 0);
    expect(published.slice(0, publishedIds.length)).toEqual([...publishedIds].reverse()); // drafts sort as the oldest
    expect(new Set(published.slice(publishedIds.length))).toEqual(new Set(created.filter((_, i) => i % 5 === 0)));
    // A cursor is bound to its order.
    const titleCursor = (await ok(t, org.admin, PAGE, { first: 1, orderBy: { field: 'TITLE', direction: 'ASC' } })).courses.pageInfo.endCursor;
    expect(errorCode(await call(t, org.admin, PAGE, { first: 1, after: titleCursor }))).toBe('BAD_USER_INPUT');
  });

  it('shows learners published courses only, and filters', async () => {
    const learner = (await ok(t, org.learner, PAGE, { first: 100 })).courses;
    expect(learner.edges).toHaveLength(100);
    expect(learner.totalCount).toBe(104);
    expect(learner.edges.every((e: { node: { status: string } }) => e.node.status === 'PUBLISHED')).toBe(true);

    const drafts = (await ok(t, org.admin, PAGE, { first: 100, filter: { status: 'DRAFT' } })).courses;
    expect(drafts.edges).toHaveLength(26);
    expect(drafts.totalCount).toBe(26);
    expect((await ok(t, org.learner, PAGE, { first: 100, filter: { status: 'DRAFT' } })).courses.edges).toEqual([]);

    const byAdmin = (await ok(t, org.admin, PAGE, { first: 100, filter: { authorId: gid.user(org.admin.userId!) } })).courses;
    expect(byAdmin.edges).toHaveLength(65);
    expect(byAdmin.totalCount).toBe(65);
    expect(errorCode(await call(t, org.admin, PAGE, { filter: { authorId: org.admin.userId } }))).toBe('BAD_USER_INPUT'); // a plain UUID is not a User id

    const special = (await ok(t, org.learner, PAGE, { first: 100, filter: { titleContains: 'SPECIAL' } })).courses;
    expect(special.edges).toEqual([]); // every tenth (the "special" ones) is also a fifth: a draft
    const specialForAuthors = (await ok(t, org.admin, PAGE, { first: 100, filter: { titleContains: 'special' } })).courses;
    expect(specialForAuthors.edges).toHaveLength(13);
    const wildcard = (await ok(t, org.admin, PAGE, { first: 100, filter: { titleContains: '%' } })).courses;
    expect(wildcard.edges).toEqual([]); // LIKE wildcards are matched literally
  });

  it('refuses pages over 100 and forged cursors with BAD_USER_INPUT', async () => {
    expect(errorCode(await call(t, org.admin, PAGE, { first: 101 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await call(t, org.admin, PAGE, { first: -1 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await call(t, org.admin, PAGE, { after: 'not-a-cursor' }))).toBe('BAD_USER_INPUT');
    const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    expect(errorCode(await call(t, org.admin, PAGE, { after: forged }))).toBe('BAD_USER_INPUT');
    expect((await ok(t, org.admin, PAGE, { first: 0 })).courses).toMatchObject({ edges: [], pageInfo: { hasNextPage: true } });
  });
});

describe('cache hints', () => {
  const cacheControl = async (who: Data, query: string) => {
    const res = await fetch(t.running.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-lectern-actor': await actorHeader(who) }, body: JSON.stringify({ query }) });
    return res.headers.get('cache-control');
  };

  it('lets the gateway share the published catalog among readers, keeps authors’ answers private, and caches no write', async () => {
    const page = '{ courses(first: 5) { totalCount nodes { id title modules { title lessons { title } } } } }';
    expect(await cacheControl(org.learner, page)).toBe('max-age=60, public');
    expect(await cacheControl(org.readKey, page)).toBe('max-age=60, public');
    // Authors see drafts: what they are answered depends on who they are.
    expect(await cacheControl(org.instructor, page)).toBe('max-age=60, private');
    expect(await cacheControl(org.admin, page)).toBe('max-age=60, private');
    // A field of another subgraph (the authors' names) has no hint here: nothing is cacheable.
    expect(await cacheControl(org.learner, '{ courses(first: 5) { nodes { authors { id } } } }')).toBe('no-store');
    expect(await cacheControl(org.admin, 'mutation { createCourse(input: { title: "x", idempotencyKey: "k" }) { errors { code } } }')).toBe('no-store');
  });
});

describe('N+1', () => {
  const DEEP = `query($first: Int!) {
    courses(first: $first) {
      nodes {
        id title description status slug createdAt publishedAt
        publishedVersion { number title modules { id } }
        draftVersion { number }
        authors { id }
        prerequisites { id title authors { id } modules { id } }
        modules { id title position course { id } version { id } lessons { id title kind body video { id } quiz { id } module { id } course { id } } }
      }
    }
  }`;

  const statements = async (who: typeof org.admin, first: number) => {
    const before = t.running.deps.stats.statements;
    const r = await ok(t, who, DEEP, { first });
    const used = t.running.deps.stats.statements - before;
    expect(r.courses.nodes).toHaveLength(first);
    return { used, nodes: r.courses.nodes };
  };

  it('costs the same SQL statements for courses(first: 100) with modules, lessons, authors and prerequisites as for first: 1', async () => {
    for (const who of [org.admin, org.learner]) {
      await statements(who, 1); // warm-up
      const one = await statements(who, 1);
      const hundred = await statements(who, 100);
      expect(hundred.nodes[50].modules[0].lessons).toHaveLength(2);
      expect(hundred.nodes[50].modules[0].lessons[1].video.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(hundred.nodes.filter((n: { prerequisites: unknown[] }) => n.prerequisites.length === 1).length).toBeGreaterThan(70);
      expect(hundred.used).toBe(one.used);
      // set_config, the page, then one batch per relation and level.
      expect(one.used).toBeLessThanOrEqual(11);
    }
  });
});
