// Plumbing every authoring mutation shares: authorization, the idempotent savepoint, the
// per-course lock, the per-course edit right, the draft (created on first edit by
// deep-copying the latest version, so the published one stays live while the next is drafted),
// and media's answer about videos, asked before the mutation's transaction.
import { randomUUID } from 'node:crypto';
import {
  DeadlockException,
  LockWaitTimeoutException,
  UniqueConstraintViolationException,
  type EntityManager,
} from '@mikro-orm/postgresql';
import { conflict, forbidden, idempotentWrite, isUuid, notFound, type Actor, type UnitOfWork } from '@lectern/kernel';
import { editsEveryCourse, requireAuthor } from '../../access.ts';
import type { CatalogLoaders } from '../../loaders.ts';
import type { Directory, VideoInfo, VideoLibrary } from '../../runtime.ts';
import { CourseModule, Lesson } from '../content/content.entity.ts';
import { Course, CourseAuthor, CourseVersion } from './course.entity.ts';
import { lockCourseRow } from './course.store.ts';

export interface ServiceDeps {
  actor: Actor;
  uow: UnitOfWork;
  loaders: CatalogLoaders;
  /** Who may author (identity). */
  directory: Directory;
  /** Whether lessons' videos exist and are READY (media). */
  media: VideoLibrary;
}

/** Inputs of every mutation carry the caller's idempotency key. */
export interface Idempotent {
  idempotencyKey: string;
}

/**
 * Runs one authoring mutation: authorizes the caller, then runs `fn` once per idempotency key
 * in the mutation's own transaction (kernel idempotentWrite). `fn` returns JSON (ids and typed
 * errors) that a replay gets back as stored. Typed errors must be decided before anything is changed.
 */
export async function runMutation<I extends Idempotent, T>(
  deps: ServiceDeps,
  mutation: string,
  input: I,
  fn: (em: EntityManager, tenantId: string) => Promise<T>,
): Promise<T> {
  const { actor, uow } = deps;
  requireAuthor(actor);
  try {
    return await idempotentWrite(uow, actor, mutation, input, (em) => fn(em, actor.tenantId));
  } catch (err) {
    throw translateDriverError(err);
  } finally {
    deps.loaders.clearAll();
  }
}

/**
 * media's answer about some videos, asked before a mutation's transaction (no network call
 * inside one) and read inside it, once the mutation's own checks (NOT_FOUND, FORBIDDEN,
 * BAD_USER_INPUT) have passed.
 */
export interface MediaAnswer {
  /** The ids media was asked about (plain UUIDs, lower case). */
  asked: ReadonlySet<string>;
  /**
   * media's videos among them, by id (absent: no such video in the organization). Throws
   * SERVICE_UNAVAILABLE when media could not answer: thrown here rather than when asking, so a
   * replay of a stored result (which runs nothing) still answers while media is down.
   */
  get(): Map<string, VideoInfo>;
}

/** Asks media about `videoIds` (none: no call). Call it before runMutation; read the answer inside. */
export async function askMedia(deps: ServiceDeps, videoIds: readonly string[]): Promise<MediaAnswer> {
  const { actor } = deps;
  requireAuthor(actor); // only authors make catalog ask media anything
  const asked = new Set(videoIds.map((id) => id.toLowerCase()));
  if (asked.size === 0) return { asked, get: () => new Map() };
  try {
    const videos = await deps.media.videos(actor.tenantId, [...asked]);
    return { asked, get: () => videos };
  } catch (err) {
    return {
      asked,
      get: () => {
        throw err;
      },
    };
  }
}

function translateDriverError(err: unknown): unknown {
  if (err instanceof UniqueConstraintViolationException) {
    return conflict('A concurrent change got there first; reload and retry');
  }
  if (err instanceof DeadlockException || err instanceof LockWaitTimeoutException) {
    return conflict('The course is being changed by another request; retry');
  }
  return err;
}

/**
 * The course, locked for the rest of the transaction (all edits of one course are serialised
 * on its row), fresh from the database. Another tenant's id is a missing one.
 *
 * FOR NO KEY UPDATE, not FOR UPDATE: it still serialises edits, but does not block the
 * FOR KEY SHARE that foreign-key checks of other transactions take on the row (a request
 * adding this course as someone's prerequisite must not wait for, or deadlock with, an edit
 * of this course).
 */
export async function lockCourse(em: EntityManager, tenantId: string, courseId: string): Promise<Course> {
  if (!isUuid(courseId)) throw notFound('Course');
  await lockCourseRow(em, tenantId, courseId);
  const course = await em.findOne(Course, { id: courseId }, { refresh: true });
  if (!course) throw notFound('Course');
  return course;
}

/** An INSTRUCTOR changes only the courses they author (ORG_ADMIN and catalog:write keys: all). */
export async function assertCanEdit(em: EntityManager, actor: Actor, course: Course): Promise<void> {
  if (editsEveryCourse(actor)) return;
  if (actor.userId) {
    const author = await em.findOne(CourseAuthor, { courseId: course.id, userId: actor.userId });
    if (author) return;
  }
  throw forbidden('Only the authors of this course and organization admins can change it');
}

export interface DraftContent {
  draft: CourseVersion;
  /** The draft's modules in position order. */
  modules: CourseModule[];
  /** The draft's lessons, by module id, in position order. */
  lessonsByModule: Map<string, Lesson[]>;
}

/**
 * The course's draft with its content, creating it when there is none by deep-copying the
 * latest version (copies keep their lineage). Call with the course locked.
 */
export async function draftOf(em: EntityManager, course: Course): Promise<DraftContent> {
  const latest = await em.findOneOrFail(CourseVersion, { id: course.latestVersionId }, { refresh: true });
  const modules = await em.find(CourseModule, { versionId: latest.id }, { orderBy: { position: 'asc' }, refresh: true });
  const lessons = await em.find(Lesson, { versionId: latest.id }, { orderBy: { position: 'asc' }, refresh: true });
  if (latest.status === 'DRAFT') return { draft: latest, modules, lessonsByModule: groupLessons(modules, lessons) };

  const draft = em.create(CourseVersion, {
    id: randomUUID(),
    tenantId: course.tenantId,
    courseId: course.id,
    number: latest.number + 1,
    title: latest.title,
    description: latest.description,
    status: 'DRAFT',
    basedOnVersionId: latest.id,
    publishedAt: null,
  });
  const moduleCopies = new Map<string, CourseModule>();
  for (const m of modules) {
    moduleCopies.set(
      m.id,
      em.create(CourseModule, {
        id: randomUUID(),
        tenantId: m.tenantId,
        courseId: m.courseId,
        versionId: draft.id,
        lineageId: m.lineageId,
        position: m.position,
        title: m.title,
      }),
    );
  }
  const lessonCopies = lessons.map((l) =>
    em.create(Lesson, {
      id: randomUUID(),
      tenantId: l.tenantId,
      courseId: l.courseId,
      versionId: draft.id,
      moduleId: moduleCopies.get(l.moduleId)!.id,
      lineageId: l.lineageId,
      position: l.position,
      title: l.title,
      kind: l.kind,
      required: l.required,
      durationSeconds: l.durationSeconds,
      body: l.body,
      videoAssetId: l.videoAssetId,
      quizId: l.quizId,
      externalUrl: l.externalUrl,
    }),
  );
  course.latestVersionId = draft.id;
  course.updatedAt = new Date();
  const copies = [...moduleCopies.values()];
  return { draft, modules: copies, lessonsByModule: groupLessons(copies, lessonCopies) };
}

function groupLessons(modules: CourseModule[], lessons: Lesson[]): Map<string, Lesson[]> {
  const map = new Map<string, Lesson[]>(modules.map((m) => [m.id, []]));
  for (const l of lessons) map.get(l.moduleId)?.push(l);
  return map;
}

/** Gives `items` the positions 0..n-1 in array order (changed rows only are written). */
export function renumber(items: { position: number }[]): void {
  items.forEach((item, index) => {
    if (item.position !== index) item.position = index;
  });
}
