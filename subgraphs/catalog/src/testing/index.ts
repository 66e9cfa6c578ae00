// Seed builders for tests and the demo seed. They go through the same services as the API
// (as an ORG_ADMIN of the organization), so seeded data obeys every rule real data does; only
// identity and media are stood in for (seedDirectory, seedVideoLibrary).
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant, UnitOfWork, type Actor } from '@lectern/kernel';
import type { MutationResult } from '../errors.ts';
import { createLoaders } from '../loaders.ts';
import type { LessonKind } from '../modules/content/content.entity.ts';
import { ContentService } from '../modules/content/content.service.ts';
import { Course } from '../modules/course/course.entity.ts';
import { CourseService } from '../modules/course/course.service.ts';
import type { Directory, VideoInfo, VideoLibrary } from '../runtime.ts';

export interface LessonSeed {
  title: string;
  kind?: LessonKind;
  required?: boolean;
  durationSeconds?: number;
  body?: string;
  /** VIDEO lessons: the video (default: a made-up id, which seedVideoLibrary vouches for). */
  videoAssetId?: string;
  quizId?: string;
  externalUrl?: string;
}

export interface ModuleSeed {
  title: string;
  lessons: LessonSeed[];
}

export interface CourseSeed {
  tenantId: string;
  /** The course's authors; the first one acts (as an ORG_ADMIN) and creates it. */
  authorIds?: string[];
  /** Shorthand for a single author (`authorIds: [authorId]`). */
  authorId?: string;
  title?: string;
  description?: string;
  slug?: string;
  /** Publish the built content. Default false (a draft-only course). */
  published?: boolean;
  /** After publishing, start a draft with this title (the published version stays live). */
  draftTitle?: string;
  /** Publish, then unpublish. */
  unpublished?: boolean;
  /** Default: one module with a TEXT and an EXTERNAL lesson. */
  modules?: ModuleSeed[];
  prerequisiteCourseIds?: string[];
}

export interface SeededCourse {
  id: string;
  slug: string;
  title: string;
  modules: { id: string; title: string; lessons: { id: string; title: string; kind: LessonKind }[] }[];
}

export const DEFAULT_MODULES: ModuleSeed[] = [
  {
    title: 'Getting started',
    lessons: [
      { title: 'Welcome', kind: 'TEXT', body: 'What this course covers and how to get the most from it.', durationSeconds: 120 },
      { title: 'Further reading', kind: 'EXTERNAL', externalUrl: 'https://example.org/reading', required: false },
    ],
  },
];

/** The acting user of a seed: an ORG_ADMIN of the organization. */
export function seedActor(tenantId: string, userId: string): Actor {
  return {
    kind: 'user',
    userId,
    tenantId,
    roles: ['ORG_ADMIN'],
    superAdmin: false,
    scopes: [],
    apiKeyId: null,
    ip: null,
    requestId: null,
  };
}

/**
 * The directory a seed's services ask: it vouches for the seed's own authors only (seeds build
 * data for people their caller created in identity, or made up for a test that needs no
 * identity); the API asks identity itself (runtime.ts).
 */
export function seedDirectory(authorIds: readonly string[]): Directory {
  const vouched = new Set(authorIds.map((id) => id.toLowerCase()));
  return {
    eligibleAuthors: (_tenantId, userIds) => Promise.resolve(new Set(userIds.filter((id) => vouched.has(id.toLowerCase())))),
  };
}

/**
 * The video library a seed's services ask: media holds none of a seed's videos, so it vouches
 * for the given ones (id → seconds) as READY videos of the organization, each as long as given.
 * A seed's VIDEO lesson without durationSeconds gets a video without one, and keeps none when
 * published (media's READY videos always have one; a seed may build the case it has not).
 */
export function seedVideoLibrary(videos: ReadonlyMap<string, number | null>): VideoLibrary {
  const known = new Map([...videos].map(([id, seconds]) => [id.toLowerCase(), seconds]));
  return {
    videos(_tenantId, videoIds) {
      const found = new Map<string, VideoInfo>();
      for (const id of videoIds.map((v) => v.toLowerCase())) {
        const seconds = known.get(id);
        if (seconds !== undefined) found.set(id, { videoId: id, title: 'Seeded video', status: 'READY', durationSeconds: seconds, failureReason: null });
      }
      return Promise.resolve(found);
    },
  };
}

function ok(result: MutationResult, what: string): MutationResult {
  if (result.errors.length) throw new Error(`seed: ${what} failed: ${result.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  return result;
}

const key = () => `seed-${randomUUID()}`;

/** Builds one course with content through the authoring services. */
export async function seedCourse(target: MikroORM | UnitOfWork, seed: CourseSeed): Promise<SeededCourse> {
  if (!(target instanceof UnitOfWork)) return inTenant(target, seed.tenantId, (uow) => seedCourse(uow, seed));
  const [creator, ...coAuthors] = seed.authorIds ?? (seed.authorId ? [seed.authorId] : []);
  if (!creator) throw new Error('seedCourse needs authorIds (or authorId)');
  // Each VIDEO lesson's video, chosen up front so the seed's video library knows it.
  const moduleSeeds = (seed.modules ?? DEFAULT_MODULES).map((m) => ({
    ...m,
    lessons: m.lessons.map((l) => ((l.kind ?? 'TEXT') === 'VIDEO' ? { ...l, videoAssetId: l.videoAssetId ?? randomUUID() } : l)),
  }));
  const videos = new Map(moduleSeeds.flatMap((m) => m.lessons.flatMap((l) => (l.kind === 'VIDEO' ? [[l.videoAssetId!, l.durationSeconds ?? null] as const] : []))));
  const deps = {
    actor: seedActor(seed.tenantId, creator),
    uow: target,
    loaders: createLoaders(target),
    directory: seedDirectory(seed.authorIds ?? [creator]),
    media: seedVideoLibrary(videos),
  };
  const courses = new CourseService(deps);
  const content = new ContentService(deps);
  const title = seed.title ?? `Course ${randomUUID().slice(0, 8)}`;
  const created = ok(
    await courses.createCourse({ title, description: seed.description ?? `About ${title}.`, slug: seed.slug ?? null, idempotencyKey: key() }),
    'createCourse',
  );
  const courseId = created.courseId!;
  for (const userId of coAuthors) ok(await courses.addCourseAuthor({ courseId, userId, idempotencyKey: key() }), 'addCourseAuthor');
  const modules: SeededCourse['modules'] = [];
  for (const m of moduleSeeds) {
    const { moduleId } = ok(await content.addModule({ courseId, title: m.title, idempotencyKey: key() }), 'addModule');
    const lessons: SeededCourse['modules'][number]['lessons'] = [];
    for (const l of m.lessons) {
      const kind = l.kind ?? 'TEXT';
      const { lessonId } = ok(
        await content.addLesson({
          moduleId: moduleId!,
          title: l.title,
          kind,
          required: l.required ?? true,
          durationSeconds: l.durationSeconds ?? null,
          body: kind === 'TEXT' ? (l.body ?? `${l.title}.`) : null,
          videoAssetId: kind === 'VIDEO' ? l.videoAssetId! : null,
          quizId: kind === 'QUIZ' ? (l.quizId ?? randomUUID()) : null,
          externalUrl: kind === 'EXTERNAL' ? (l.externalUrl ?? 'https://example.org/') : null,
          idempotencyKey: key(),
        }),
        'addLesson',
      );
      lessons.push({ id: lessonId!, title: l.title, kind });
    }
    modules.push({ id: moduleId!, title: m.title, lessons });
  }
  for (const prerequisiteCourseId of seed.prerequisiteCourseIds ?? []) {
    ok(await courses.addCoursePrerequisite({ courseId, prerequisiteCourseId, idempotencyKey: key() }), 'addCoursePrerequisite');
  }
  if (seed.published || seed.draftTitle || seed.unpublished) ok(await courses.publishCourse({ courseId, idempotencyKey: key() }), 'publishCourse');
  if (seed.unpublished) ok(await courses.unpublishCourse({ courseId, idempotencyKey: key() }), 'unpublishCourse');
  if (seed.draftTitle) ok(await courses.updateCourse({ courseId, title: seed.draftTitle, idempotencyKey: key() }), 'updateCourse');
  const em = await target.em();
  const course = await em.findOneOrFail(Course, { id: courseId });
  return { id: courseId, slug: course.slug, title, modules };
}

const videoLesson = (title: string, minutes: number): LessonSeed => ({ title, kind: 'VIDEO', durationSeconds: minutes * 60 });
const text = (title: string, body: string, minutes = 5): LessonSeed => ({ title, kind: 'TEXT', body, durationSeconds: minutes * 60 });
const quizLesson = (title: string): LessonSeed => ({ title, kind: 'QUIZ', durationSeconds: 600 });
const link = (title: string, externalUrl: string): LessonSeed => ({ title, kind: 'EXTERNAL', externalUrl, required: false });

/** The demo organization's catalog, by slug. Kept in sync with seedDemoCatalog. */
export const DEMO_COURSE_SLUGS = [
  'workplace-safety-essentials',
  'data-privacy-basics',
  'giving-effective-feedback',
  'introduction-to-sql',
  'advanced-sql-window-functions',
  'customer-support-fundamentals',
] as const;

/**
 * Six realistic courses for a demo organization: four published (one with a draft in
 * progress), one draft-only, one unpublished; SQL courses linked by a prerequisite.
 * Idempotent: courses whose slug already exists are left as they are. `demoVideo` is the one video
 * every VIDEO lesson shows (media's demo video), lasting as long. `quizIdFor` names the
 * quiz each QUIZ lesson links to, by the lesson's title (the demo's quizzes, which assessment
 * holds); without it each gets an id of no quiz. Returns the courses it created.
 */
export async function seedDemoCatalog(
  orm: MikroORM,
  opts: { tenantId: string; authorIds: string[]; quizIdFor?: (lessonTitle: string) => string; demoVideo?: { videoAssetId: string; durationSeconds: number } },
): Promise<SeededCourse[]> {
  const { tenantId, authorIds } = opts;
  const quiz = (title: string): LessonSeed => ({ ...quizLesson(title), quizId: opts.quizIdFor?.(title) });
  // With `demoVideo`, every VIDEO lesson shows that one video (media holds it) and lasts as long.
  const video = (title: string, minutes: number): LessonSeed =>
    opts.demoVideo ? { title, kind: 'VIDEO', videoAssetId: opts.demoVideo.videoAssetId, durationSeconds: opts.demoVideo.durationSeconds } : videoLesson(title, minutes);
  if (authorIds.length === 0) throw new Error('seedDemoCatalog needs at least one author');
  const author = (i: number) => authorIds[i % authorIds.length]!;
  const existing = await inTenant(orm, tenantId, async (uow) => {
    const em = await uow.em();
    const found = await em.find(Course, { slug: { $in: [...DEMO_COURSE_SLUGS] } });
    return new Map(found.map((c) => [c.slug, c.id]));
  });
  const seeded: SeededCourse[] = [];
  const build = async (seed: Omit<CourseSeed, 'tenantId'> & { slug: (typeof DEMO_COURSE_SLUGS)[number] }) => {
    const id = existing.get(seed.slug);
    if (id) return id;
    const course = await seedCourse(orm, { tenantId, ...seed });
    seeded.push(course);
    return course.id;
  };

  await build({
    slug: 'workplace-safety-essentials',
    authorIds: [author(0)],
    title: 'Workplace Safety Essentials',
    description: 'Recognise hazards, prevent accidents and know what to do in an emergency. Required yearly for all staff.',
    published: true,
    modules: [
      { title: 'Hazards at work', lessons: [video('Spotting hazards', 8), text('Slips, trips and falls', 'Most workplace injuries start with a slip or a trip. Keep walkways clear and report spills at once.')] },
      { title: 'Emergency procedures', lessons: [text('Fire evacuation', 'Know your two nearest exits and your assembly point.'), quiz('Safety check')] },
    ],
  });
  await build({
    slug: 'data-privacy-basics',
    authorIds: [...new Set([author(0), author(1)])],
    title: 'Data Privacy and GDPR Basics',
    description: 'Personal data, lawful processing, data subject rights and how to handle a breach.',
    published: true,
    draftTitle: 'Data Privacy and GDPR Basics (2025 edition)',
    modules: [
      { title: 'What is personal data?', lessons: [video('Personal data in everyday work', 6), text('Special categories', 'Health, religion and biometrics need extra protection.')] },
      { title: 'Rights and breaches', lessons: [text('Data subject requests', 'Answer access requests within one month.'), quiz('Privacy quiz'), link('The regulation', 'https://eur-lex.europa.eu/eli/reg/2016/679/oj')] },
    ],
  });
  await build({
    slug: 'giving-effective-feedback',
    authorIds: [author(1)],
    title: 'Giving Effective Feedback',
    description: 'A practical course for new managers: situation-behaviour-impact feedback, one-to-ones and difficult conversations.',
    published: true,
    modules: [
      { title: 'Feedback that lands', lessons: [video('The SBI model', 12), text('Praise in public, correct in private', 'Specific, timely and kind beats vague and late.')] },
      { title: 'Difficult conversations', lessons: [video('Preparing the conversation', 10), quiz('Scenario check')] },
    ],
  });
  const sql = await build({
    slug: 'introduction-to-sql',
    authorIds: [author(1)],
    title: 'Introduction to SQL',
    description: 'Query relational databases: SELECT, WHERE, JOIN and GROUP BY, with exercises on a sample shop database.',
    published: true,
    modules: [
      { title: 'Querying one table', lessons: [video('SELECT and WHERE', 15), text('Sorting and limiting', 'ORDER BY sorts; LIMIT keeps the first rows.')] },
      { title: 'Joining tables', lessons: [video('Inner and outer joins', 18), quiz('Join practice')] },
      { title: 'Aggregates', lessons: [text('GROUP BY and HAVING', 'Aggregate rows into groups, then filter the groups.'), link('PostgreSQL tutorial', 'https://www.postgresql.org/docs/current/tutorial.html')] },
    ],
  });
  await build({
    slug: 'advanced-sql-window-functions',
    authorIds: [author(1)],
    title: 'Advanced SQL: Window Functions',
    description: 'Running totals, rankings and moving averages with OVER and PARTITION BY.',
    prerequisiteCourseIds: [sql],
    modules: [{ title: 'Windows', lessons: [video('OVER and PARTITION BY', 14), text('Ranking functions', 'row_number, rank and dense_rank compared.')] }],
  });
  await build({
    slug: 'customer-support-fundamentals',
    authorIds: [author(0)],
    title: 'Customer Support Fundamentals',
    description: 'Tone of voice, ticket triage and escalation paths. Retired while it is being rewritten.',
    unpublished: true,
    modules: [{ title: 'Triage', lessons: [text('Priorities', 'Impact times urgency decides the queue.'), quiz('Triage quiz')] }],
  });
  return seeded;
}
