// The demo catalog seed: realistic content, the intended mix of states, and safe to re-run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_COURSE_SLUGS, seedDemoCatalog } from '../src/testing/index.ts';
import { ok, organization, startTestCatalog, type Data, type TestCatalog } from './helpers.ts';

let t: TestCatalog;
const org = organization();

beforeAll(async () => {
  t = await startTestCatalog();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const LIST = `{ courses(first: 100) { nodes { slug status title draftVersion { title } prerequisites { slug } modules { lessons { kind } } authors { id } } } }`;

describe('seedDemoCatalog', () => {
  it('creates six courses (published, with a draft, draft-only, unpublished) and is idempotent', async () => {
    const authorIds = [org.admin.userId!, org.instructor.userId!];
    const first = await seedDemoCatalog(t.running.deps.orm, { tenantId: org.tenantId, authorIds });
    expect(first.map((c) => c.slug).sort()).toEqual([...DEMO_COURSE_SLUGS].sort());
    const again = await seedDemoCatalog(t.running.deps.orm, { tenantId: org.tenantId, authorIds });
    expect(again).toEqual([]);

    const all: Data[] = (await ok(t, org.admin, LIST)).courses.nodes;
    expect(all).toHaveLength(6);
    const bySlug = new Map(all.map((c) => [c.slug as string, c]));
    expect(bySlug.get('data-privacy-basics')).toMatchObject({ status: 'PUBLISHED', draftVersion: { title: 'Data Privacy and GDPR Basics (2025 edition)' } });
    expect(bySlug.get('advanced-sql-window-functions')).toMatchObject({ status: 'DRAFT', prerequisites: [{ slug: 'introduction-to-sql' }] });
    expect(bySlug.get('customer-support-fundamentals')).toMatchObject({ status: 'UNPUBLISHED' });
    const kinds = new Set(all.flatMap((c) => c.modules.flatMap((m: Data) => m.lessons.map((l: Data) => l.kind))));
    expect(kinds).toEqual(new Set(['VIDEO', 'TEXT', 'QUIZ', 'EXTERNAL']));

    const learner: Data[] = (await ok(t, org.learner, LIST)).courses.nodes;
    expect(learner.map((c) => c.slug).sort()).toEqual(['data-privacy-basics', 'giving-effective-feedback', 'introduction-to-sql', 'workplace-safety-essentials']);
    expect(learner.find((c) => c.slug === 'data-privacy-basics')).toMatchObject({ title: 'Data Privacy and GDPR Basics', draftVersion: null });
  });
});
