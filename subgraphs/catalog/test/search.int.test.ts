// searchCourses: PostgreSQL full-text search over published versions only, never returning an
// unpublished course, not even while the unpublish is racing with searches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUTATIONS, authorCourse, call, errorCode, idem, ok, organization, startTestCatalog, type Data, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
const org = organization();
const SEARCH = `query($q: String!, $first: Int, $after: String, $last: Int, $before: String) {
  searchCourses(query: $q, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount
  }
}`;
const ids = (r: Data): string[] => r.searchCourses.edges.map((e: { node: { id: string } }) => e.node.id);

let titleHit: string;
let descriptionHit: string;
let draftOnly: string;
let withDraft: string;

beforeAll(async () => {
  t = await startTestCatalog();
  titleHit = (await authorCourse(t, org.admin, 'Kubernetes for beginners', { publish: true, description: 'Pods and deployments.' })).courseId;
  descriptionHit = (await authorCourse(t, org.admin, 'Running containers', { publish: true, description: 'From Docker to Kubernetes in production.' })).courseId;
  draftOnly = (await authorCourse(t, org.admin, 'Kubernetes secrets management', { description: 'Draft' })).courseId;
  withDraft = (await authorCourse(t, org.admin, 'Infrastructure as code', { publish: true, description: 'Declarative infrastructure.' })).courseId;
  // A draft mentions Terraform; the published version does not.
  await ok(t, org.admin, MUTATIONS.updateCourse, { input: { courseId: withDraft, title: 'Terraform infrastructure as code', idempotencyKey: idem() } });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('searchCourses', () => {
  it('finds published courses, title matches ranked above description matches', async () => {
    const r = await ok(t, org.learner, SEARCH, { q: 'kubernetes' });
    expect(ids(r)).toEqual([titleHit, descriptionHit]);
  });

  it('never returns draft content, for learners or authors', async () => {
    for (const who of [org.learner, org.admin]) {
      expect(ids(await ok(t, who, SEARCH, { q: 'secrets management' }))).toEqual([]);
      expect(ids(await ok(t, who, SEARCH, { q: 'terraform' }))).toEqual([]);
      expect(ids(await ok(t, who, SEARCH, { q: 'declarative' }))).toEqual([withDraft]);
    }
    expect(ids(await ok(t, org.admin, SEARCH, { q: 'kubernetes' }))).not.toContain(draftOnly);
  });

  it('understands web-search syntax', async () => {
    expect(ids(await ok(t, org.learner, SEARCH, { q: 'kubernetes -docker' }))).toEqual([titleHit]);
    expect(ids(await ok(t, org.learner, SEARCH, { q: '"docker to kubernetes"' }))).toEqual([descriptionHit]);
    expect(ids(await ok(t, org.learner, SEARCH, { q: 'the' }))).toEqual([]); // stop words only
  });

  it('pages with stable cursors', async () => {
    const first = await ok(t, org.learner, SEARCH, { q: 'kubernetes', first: 1 });
    expect(first.searchCourses.pageInfo.hasNextPage).toBe(true);
    const second = await ok(t, org.learner, SEARCH, { q: 'kubernetes', first: 1, after: first.searchCourses.pageInfo.endCursor });
    expect([...ids(first), ...ids(second)]).toEqual([titleHit, descriptionHit]);
    expect(second.searchCourses.pageInfo.hasNextPage).toBe(false);
    expect(first.searchCourses.totalCount).toBe(2);
  });

  it('pages backward with last/before, in relevance order', async () => {
    const last = await ok(t, org.learner, SEARCH, { q: 'kubernetes', last: 1 });
    expect(ids(last)).toEqual([descriptionHit]);
    expect(last.searchCourses.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const before = await ok(t, org.learner, SEARCH, { q: 'kubernetes', last: 5, before: last.searchCourses.pageInfo.startCursor });
    expect(ids(before)).toEqual([titleHit]);
    expect(before.searchCourses.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    expect((await ok(t, org.learner, SEARCH, { q: 'kubernetes', last: 2 })).searchCourses).toMatchObject({ totalCount: 2 });
    expect(ids(await ok(t, org.learner, SEARCH, { q: 'kubernetes', last: 2 }))).toEqual([titleHit, descriptionHit]);
  });

  it('refuses blank queries and bad cursors with BAD_USER_INPUT', async () => {
    for (const vars of [{ q: '' }, { q: '   ' }, { q: 'x'.repeat(201) }, { q: 'kubernetes', after: 'bogus' }, { q: 'kubernetes', before: 'bogus' }, { q: 'kubernetes', first: 101 }, { q: 'kubernetes', first: 1, last: 1 }]) {
      expect(errorCode(await call(t, org.learner, SEARCH, vars))).toBe('BAD_USER_INPUT');
    }
  });

  it('stops returning a course the moment its unpublish commits, under concurrent searches', async () => {
    const { courseId } = await authorCourse(t, org.admin, 'Quantum knitting', { publish: true, description: 'Ephemeral yarn theory.' });
    const samples: { startedAt: number; hit: boolean }[] = [];
    let committedAt = Number.POSITIVE_INFINITY;
    // Searches keep running until enough of them started after the commit (a count, not a
    // time window: a loaded machine runs fewer searches per second).
    const AFTER = 12;
    const startedAfterCommit = () => samples.filter((s) => s.startedAt > committedAt).length;
    // a latch: the first search that finds the course opens it
    let found!: () => void;
    const foundOnce = new Promise<void>((resolve) => (found = resolve));
    const loop = async () => {
      while (startedAfterCommit() < AFTER) {
        const startedAt = Date.now();
        const r = await ok(t, org.learner, SEARCH, { q: 'quantum knitting yarn' });
        const hit = ids(r).includes(courseId);
        samples.push({ startedAt, hit });
        if (hit) found();
      }
    };
    const loops = Array.from({ length: 6 }, loop);
    await foundOnce; // unpublish once a search has found the course
    const un = await ok(t, org.admin, MUTATIONS.unpublishCourse, { input: { courseId, idempotencyKey: idem() } });
    committedAt = Date.now(); // the response is sent only after the transaction committed
    expect(un.unpublishCourse.errors).toEqual([]);
    await Promise.all(loops);

    const before = samples.filter((s) => s.startedAt < committedAt);
    const after = samples.filter((s) => s.startedAt > committedAt);
    expect(before.some((s) => s.hit)).toBe(true); // it was findable while published
    expect(after.length).toBeGreaterThanOrEqual(AFTER);
    expect(after.filter((s) => s.hit)).toEqual([]);
    for (const who of [org.learner, org.admin, org.readKey]) {
      expect(ids(await ok(t, who, SEARCH, { q: 'quantum knitting yarn' }))).toEqual([]);
    }
  });
});
