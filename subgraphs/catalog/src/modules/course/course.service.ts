// Course-level authoring: create, edit the draft's title and description, publish and
// unpublish, authors and prerequisites. Only this service and the content service write.
// Publishing a version with VIDEO lessons asks media (before the transaction) whether their
// videos are READY, and gives each lesson its video's duration.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, conflict, isUuid, notFound } from '@lectern/kernel';
import { catalogError, type CatalogError, type MutationResult } from '../../errors.ts';
import { CourseModule, Lesson } from '../content/content.entity.ts';
import { requireAuthor } from '../../access.ts';
import type { VideoInfo } from '../../runtime.ts';
import { askMedia, assertCanEdit, draftOf, lockCourse, runMutation, type Idempotent, type MediaAnswer, type ServiceDeps } from './authoring.ts';
import { Course, CourseAuthor, CoursePrerequisite, CourseVersion } from './course.entity.ts';
import { latestVersionVideoIds, lockPrerequisiteGraph, requiresTransitively, slugsLike } from './course.store.ts';
import { recordEvent } from '@lectern/kernel/outbox';
import { CoursePublished, CourseUnpublished } from '@lectern/contracts/catalog';

export interface CreateCourseInput extends Idempotent {
  title: string;
  description?: string | null;
  slug?: string | null;
}
export interface UpdateCourseInput extends Idempotent {
  courseId: string;
  title?: string | null;
  description?: string | null;
  slug?: string | null;
}
export interface CourseRefInput extends Idempotent {
  courseId: string;
}
export interface CourseAuthorInput extends Idempotent {
  courseId: string;
  userId: string;
}
export interface CoursePrerequisiteInput extends Idempotent {
  courseId: string;
  prerequisiteCourseId: string;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$/;

export function cleanTitle(title: string | null | undefined, field = 'title'): string {
  const t = (title ?? '').trim();
  if (t.length < 1 || t.length > 200) throw badInput(`${field} must be 1 to 200 characters`, field);
  return t;
}

function cleanDescription(description: string | null | undefined): string {
  const d = (description ?? '').trim();
  if (d.length > 10_000) throw badInput('description must be at most 10000 characters', 'description');
  return d;
}

function checkSlug(slug: string): string {
  if (!SLUG.test(slug)) {
    throw badInput('slug must be 1 to 80 lowercase letters, digits and inner dashes', 'slug');
  }
  return slug;
}

/** A URL-safe slug from a title ("Intro to SQL: Part 2" -> "intro-to-sql-part-2"). */
export function slugify(title: string): string {
  const base = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 70)
    .replace(/-+$/g, '');
  return base || 'course';
}

async function slugTaken(em: EntityManager, slug: string, exceptCourseId?: string): Promise<boolean> {
  const found = await em.findOne(Course, { slug });
  return found !== null && found.id !== exceptCourseId;
}

/** `base`, or `base-2`, `base-3`, … whichever is free in the organization. */
async function freeSlug(em: EntityManager, tenantId: string, base: string): Promise<string> {
  const taken = new Set(await slugsLike(em, tenantId, base));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

export class CourseService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  createCourse(input: CreateCourseInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'createCourse', input, async (em, tenantId) => {
      const title = cleanTitle(input.title);
      const description = cleanDescription(input.description);
      let slug: string;
      if (input.slug != null) {
        slug = checkSlug(input.slug);
        if (await slugTaken(em, slug)) return { courseId: null, errors: [slugTakenError(slug)] };
      } else {
        slug = await freeSlug(em, tenantId, slugify(title));
      }
      const courseId = randomUUID();
      const versionId = randomUUID();
      em.create(Course, {
        id: courseId,
        tenantId,
        slug,
        status: 'DRAFT',
        latestVersionId: versionId,
        publishedVersionId: null,
        createdBy: actor.userId,
      });
      em.create(CourseVersion, {
        id: versionId,
        tenantId,
        courseId,
        number: 1,
        title,
        description,
        status: 'DRAFT',
        basedOnVersionId: null,
        publishedAt: null,
      });
      // The creating instructor becomes an author, which is what lets them keep editing it.
      if (actor.userId) em.create(CourseAuthor, { tenantId, courseId, userId: actor.userId });
      return { courseId, errors: [] };
    });
  }

  /** Slug changes apply at once (it is the course's address); title and description go to the draft. */
  updateCourse(input: UpdateCourseInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'updateCourse', input, async (em, tenantId) => {
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      const title = input.title != null ? cleanTitle(input.title) : undefined;
      const description = input.description != null ? cleanDescription(input.description) : undefined;
      const slug = input.slug != null ? checkSlug(input.slug) : undefined;
      if (slug !== undefined && slug !== course.slug && (await slugTaken(em, slug, course.id))) {
        return { courseId: course.id, errors: [slugTakenError(slug)] };
      }
      if (slug !== undefined && slug !== course.slug) {
        course.slug = slug;
        course.updatedAt = new Date();
      }
      if (title !== undefined || description !== undefined) {
        const { draft } = await draftOf(em, course);
        if (title !== undefined) draft.title = title;
        if (description !== undefined) draft.description = description;
        course.updatedAt = new Date();
      }
      return { courseId: course.id, errors: [] };
    });
  }

  /**
   * Makes the draft the published version (the previous one becomes SUPERSEDED), or
   * republishes the withdrawn version of an unpublished course that has no draft. Every VIDEO
   * lesson's video must be READY in media (asked before the transaction; a version without
   * VIDEO lessons never asks), and each such lesson takes its video's duration.
   */
  async publishCourse(input: CourseRefInput): Promise<MutationResult> {
    const { actor, uow } = this.#deps;
    requireAuthor(actor);
    // The videos of the version this would publish, read before the transaction to ask media
    // outside it; checked again inside, under the course's lock.
    const videoIds = isUuid(input.courseId) ? await latestVersionVideoIds(uow, actor.tenantId, input.courseId) : [];
    const media = await askMedia(this.#deps, videoIds);
    return runMutation(this.#deps, 'publishCourse', input, async (em, tenantId) => {
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      const candidate = await em.findOneOrFail(CourseVersion, { id: course.latestVersionId }, { refresh: true });
      if (candidate.status === 'PUBLISHED') {
        return { courseId: course.id, errors: [catalogError('ALREADY_PUBLISHED', 'The course is published and has no draft to publish')] };
      }
      const { errors, videoLessons } = await validateForPublishing(em, candidate, media);
      if (errors.length) return { courseId: course.id, errors };
      const now = new Date();
      const previousVersionId = course.publishedVersionId ?? null;
      if (previousVersionId) {
        const previous = await em.findOneOrFail(CourseVersion, { id: previousVersionId }, { refresh: true });
        previous.status = 'SUPERSEDED';
      }
      // Learning measures "watched" against the lesson's duration: the real video's, from now on.
      for (const { lesson, video } of videoLessons) {
        if (video.durationSeconds !== null) lesson.durationSeconds = lessonDuration(video.durationSeconds);
      }
      candidate.status = 'PUBLISHED';
      candidate.publishedAt ??= now;
      course.publishedVersionId = candidate.id;
      course.status = 'PUBLISHED';
      course.updatedAt = now;
      // In the same transaction as the change: the event exists if and only if it commits.
      await recordEvent(em, CoursePublished, {
        tenantId,
        aggregateId: course.id,
        payload: { courseId: course.id, versionId: candidate.id, previousVersionId, publishedBy: actor.userId },
      });
      return { courseId: course.id, errors: [] };
    });
  }

  /**
   * Takes the course off the catalog. Search joins courses.published_version_id at query
   * time, so once this commits no search (nor any learner read) can return the course.
   */
  unpublishCourse(input: CourseRefInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'unpublishCourse', input, async (em, tenantId) => {
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      if (!course.publishedVersionId) {
        return { courseId: course.id, errors: [catalogError('NOT_PUBLISHED', 'The course is not published')] };
      }
      const published = await em.findOneOrFail(CourseVersion, { id: course.publishedVersionId }, { refresh: true });
      published.status = 'WITHDRAWN';
      course.publishedVersionId = null;
      course.status = 'UNPUBLISHED';
      course.updatedAt = new Date();
      await recordEvent(em, CourseUnpublished, { tenantId, aggregateId: course.id, payload: { courseId: course.id, versionId: published.id } });
      return { courseId: course.id, errors: [] };
    });
  }

  /**
   * Adds an author. identity owns users (catalog cannot read its schema), so it is asked
   * whether the person is an active ORG_ADMIN or INSTRUCTOR member of this organization: an
   * unknown id, another organization's user and a member without either role get the same
   * typed error, so the answer tells nothing about people outside the organization.
   */
  addCourseAuthor(input: CourseAuthorInput): Promise<MutationResult> {
    const { actor, directory } = this.#deps;
    return runMutation(this.#deps, 'addCourseAuthor', input, async (em, tenantId) => {
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      if (!isUuid(input.userId)) throw badInput('userId is not a valid id', 'userId');
      const userId = input.userId.toLowerCase();
      const existing = await em.findOne(CourseAuthor, { courseId: course.id, userId });
      if (existing) return { courseId: course.id, errors: [] };
      if (!(await directory.eligibleAuthors(tenantId, [userId])).has(userId)) {
        return { courseId: course.id, errors: [authorNotEligible()] };
      }
      em.create(CourseAuthor, { tenantId, courseId: course.id, userId });
      course.updatedAt = new Date();
      return { courseId: course.id, errors: [] };
    });
  }

  removeCourseAuthor(input: CourseAuthorInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'removeCourseAuthor', input, async (em, tenantId) => {
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      if (!isUuid(input.userId)) throw badInput('userId is not a valid id', 'userId');
      const existing = await em.findOne(CourseAuthor, { courseId: course.id, userId: input.userId });
      if (existing) {
        em.remove(existing);
        course.updatedAt = new Date();
      }
      return { courseId: course.id, errors: [] };
    });
  }

  addCoursePrerequisite(input: CoursePrerequisiteInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'addCoursePrerequisite', input, async (em, tenantId) => {
      // Two edits that together close a cycle must not both pass the check: changes to the
      // organization's prerequisite graph are serialised (taken before any row lock).
      await lockPrerequisiteGraph(em, tenantId);
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      if (!isUuid(input.prerequisiteCourseId)) throw notFound('Course');
      const prerequisite = await em.findOne(Course, { id: input.prerequisiteCourseId });
      if (!prerequisite) throw notFound('Course');
      if (prerequisite.id === course.id) {
        return { courseId: course.id, errors: [catalogError('PREREQUISITE_CYCLE', 'A course cannot be its own prerequisite', 'prerequisiteCourseId')] };
      }
      const existing = await em.findOne(CoursePrerequisite, { courseId: course.id, prerequisiteCourseId: prerequisite.id });
      if (existing) return { courseId: course.id, errors: [] };
      // Adding course -> prerequisite closes a cycle iff the prerequisite already (transitively) requires the course.
      if (await requiresTransitively(em, tenantId, prerequisite.id, course.id)) {
        return {
          courseId: course.id,
          errors: [catalogError('PREREQUISITE_CYCLE', 'That course already requires this one, directly or through other courses', 'prerequisiteCourseId')],
        };
      }
      em.create(CoursePrerequisite, { tenantId, courseId: course.id, prerequisiteCourseId: prerequisite.id });
      course.updatedAt = new Date();
      return { courseId: course.id, errors: [] };
    });
  }

  removeCoursePrerequisite(input: CoursePrerequisiteInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'removeCoursePrerequisite', input, async (em, tenantId) => {
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      if (!isUuid(input.prerequisiteCourseId)) throw notFound('Course');
      const existing = await em.findOne(CoursePrerequisite, { courseId: course.id, prerequisiteCourseId: input.prerequisiteCourseId });
      if (existing) {
        em.remove(existing);
        course.updatedAt = new Date();
      }
      return { courseId: course.id, errors: [] };
    });
  }
}

const authorNotEligible = () =>
  catalogError('AUTHOR_NOT_ELIGIBLE', 'Only active ORG_ADMIN or INSTRUCTOR members of this organization can author its courses', 'userId');

const slugTakenError = (slug: string) => catalogError('SLUG_TAKEN', `Another course of this organization already uses the slug "${slug}"`, 'slug');

/** A lesson's duration from a video's (seconds, rounded up; the column holds at most a day). */
const lessonDuration = (videoSeconds: number): number => Math.min(86_400, Math.ceil(videoSeconds));

/** Why a VIDEO lesson's video keeps the course from being published: it is not READY, or gone. */
function videoNotReady(lesson: Lesson, video: VideoInfo | undefined): CatalogError {
  const state = !video
    ? 'no longer exists'
    : video.status === 'FAILED' && video.failureReason
      ? `is FAILED: ${video.failureReason}`
      : `is ${video.status}`;
  return catalogError('VIDEO_NOT_READY', `Lesson "${lesson.title}": its video ${state}`);
}

/**
 * A version can be published when it has at least one lesson, no empty module, and every VIDEO
 * lesson's video is READY in media (one error per lesson whose video is not). Returns the VIDEO
 * lessons with their videos, for their durations. Asks `media` only when there are VIDEO lessons.
 */
async function validateForPublishing(
  em: EntityManager,
  version: CourseVersion,
  media: MediaAnswer,
): Promise<{ errors: CatalogError[]; videoLessons: { lesson: Lesson; video: VideoInfo }[] }> {
  const modules = await em.find(CourseModule, { versionId: version.id }, { orderBy: { position: 'asc' } });
  const lessons = await em.find(Lesson, { versionId: version.id }, { orderBy: { position: 'asc' } });
  const errors: CatalogError[] = [];
  if (lessons.length === 0) errors.push(catalogError('COURSE_HAS_NO_LESSONS', 'Add at least one lesson before publishing'));
  const withLessons = new Set(lessons.map((l) => l.moduleId));
  for (const m of modules) {
    if (!withLessons.has(m.id)) errors.push(catalogError('MODULE_HAS_NO_LESSONS', `Module "${m.title}" has no lessons: add one or remove the module`));
  }
  // In course order, so the errors read like the course.
  const modulePosition = new Map(modules.map((m) => [m.id, m.position]));
  const videoLessons = lessons
    .filter((l) => l.kind === 'VIDEO' && l.videoAssetId)
    .sort((a, b) => (modulePosition.get(a.moduleId) ?? 0) - (modulePosition.get(b.moduleId) ?? 0) || a.position - b.position);
  if (videoLessons.length === 0) return { errors, videoLessons: [] };
  // A video media was not asked about: the draft changed between the read and the lock.
  if (videoLessons.some((l) => !media.asked.has(l.videoAssetId!))) throw conflict('The course changed while it was being published; retry');
  const videos = media.get();
  const ready: { lesson: Lesson; video: VideoInfo }[] = [];
  for (const lesson of videoLessons) {
    const video = videos.get(lesson.videoAssetId!);
    if (video?.status === 'READY') ready.push({ lesson, video });
    else errors.push(videoNotReady(lesson, video));
  }
  return { errors, videoLessons: ready };
}
