// Editing a course's content. Every change lands in the course's draft (created on first
// edit), never in the published version. A module or lesson id of another version (e.g. the
// published one a client is showing) is followed by lineage to its copy in the draft.
// A VIDEO lesson's video must exist in the organization (any status): media is asked before
// the write transaction, its answer checked inside it.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, isUuid, notFound } from '@lectern/kernel';
import type { MutationResult } from '../../errors.ts';
import {
  askMedia,
  assertCanEdit,
  draftOf,
  lockCourse,
  renumber,
  runMutation,
  type DraftContent,
  type Idempotent,
  type MediaAnswer,
  type ServiceDeps,
} from '../course/authoring.ts';
import { cleanTitle } from '../course/course.service.ts';
import { CourseModule, Lesson, type LessonKind } from './content.entity.ts';

export interface AddModuleInput extends Idempotent {
  courseId: string;
  title: string;
  position?: number | null;
}
export interface UpdateModuleInput extends Idempotent {
  moduleId: string;
  title?: string | null;
  position?: number | null;
}
export interface RemoveModuleInput extends Idempotent {
  moduleId: string;
}
export interface LessonContentInput {
  body?: string | null;
  videoAssetId?: string | null;
  quizId?: string | null;
  externalUrl?: string | null;
}
export interface AddLessonInput extends Idempotent, LessonContentInput {
  moduleId: string;
  title: string;
  kind: LessonKind;
  required?: boolean | null;
  durationSeconds?: number | null;
  position?: number | null;
}
export interface UpdateLessonInput extends Idempotent, LessonContentInput {
  lessonId: string;
  title?: string | null;
  required?: boolean | null;
  /** null clears it; absent leaves it. */
  durationSeconds?: number | null;
}
export interface RemoveLessonInput extends Idempotent {
  lessonId: string;
}
export interface MoveLessonInput extends Idempotent {
  lessonId: string;
  /** Target module (any version's id of it); absent keeps the lesson's module. */
  moduleId?: string | null;
  position: number;
}

/** Which content field each kind uses; the others must stay empty. */
const CONTENT_FIELD = { TEXT: 'body', VIDEO: 'videoAssetId', QUIZ: 'quizId', EXTERNAL: 'externalUrl' } as const satisfies Record<LessonKind, keyof LessonContentInput>;
const CONTENT_FIELDS = Object.values(CONTENT_FIELD);

function checkPosition(position: number | null | undefined, max: number, field = 'position'): number {
  if (position == null) return max;
  if (!Number.isInteger(position) || position < 0) throw badInput(`${field} must be 0 or more`, field);
  return Math.min(position, max);
}

function checkDuration(seconds: number | null | undefined): number | null {
  if (seconds == null) return null;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400) throw badInput('durationSeconds must be between 0 and 86400', 'durationSeconds');
  return seconds;
}

function checkExternalUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw badInput('externalUrl must be an absolute https URL', 'externalUrl');
  }
  if (url.protocol !== 'https:' || !url.hostname || url.username || url.password) {
    throw badInput('externalUrl must be an https URL without credentials', 'externalUrl');
  }
  const href = url.toString();
  if (href.length > 2048) throw badInput('externalUrl must be at most 2048 characters', 'externalUrl');
  return href;
}

/** The input field a content field arrives in (the API names the video `videoId`, a VideoAsset id). */
const apiField = (field: keyof LessonContentInput): string => (field === 'videoAssetId' ? 'videoId' : field);

/** The value of the kind's content field, validated; throws when it is missing or another kind's field is given. */
function checkContent(kind: LessonKind, input: LessonContentInput, required: boolean): Partial<Record<keyof LessonContentInput, string>> {
  for (const field of CONTENT_FIELDS) {
    if (field !== CONTENT_FIELD[kind] && input[field] != null) throw badInput(`${apiField(field)} does not apply to ${kind} lessons`, apiField(field));
  }
  const field = CONTENT_FIELD[kind];
  const value = input[field];
  if (value === undefined && !required) return {};
  if (value == null) throw badInput(`${kind} lessons need ${apiField(field)}`, apiField(field));
  switch (field) {
    case 'body':
      if (value.trim().length === 0 || value.length > 100_000) throw badInput('body must be 1 to 100000 characters', field);
      return { body: value };
    case 'videoAssetId':
    case 'quizId':
      // Plain UUIDs here: the resolvers decoded the VideoAsset / Quiz global ids.
      if (!isUuid(value)) throw badInput(`${apiField(field)} is not a valid id`, apiField(field));
      return { [field]: value.toLowerCase() };
    case 'externalUrl':
      return { externalUrl: checkExternalUrl(value) };
  }
}

/** The input's video id when it is one worth asking media about (checkContent reports anything else). */
const videoToAsk = (input: LessonContentInput): string[] => (typeof input.videoAssetId === 'string' && isUuid(input.videoAssetId) ? [input.videoAssetId] : []);

/** Refuses a video that media does not have in this organization (whatever its status: publishing needs it READY). */
function assertVideoExists(media: MediaAnswer, videoId: string | undefined): void {
  if (videoId !== undefined && !media.get().has(videoId)) throw badInput('No video with this id in your organization', 'videoId');
}

/** The draft's copy of `moduleId` (an id of any version of the course). */
function draftModule(content: DraftContent, original: CourseModule): CourseModule {
  const m = content.modules.find((x) => x.lineageId === original.lineageId);
  if (!m) throw notFound('Module'); // removed from the draft
  return m;
}

function draftLesson(content: DraftContent, original: Lesson): { lesson: Lesson; siblings: Lesson[] } {
  for (const siblings of content.lessonsByModule.values()) {
    const lesson = siblings.find((x) => x.lineageId === original.lineageId);
    if (lesson) return { lesson, siblings };
  }
  throw notFound('Lesson');
}

async function findModule(em: EntityManager, moduleId: string): Promise<CourseModule> {
  const m = isUuid(moduleId) ? await em.findOne(CourseModule, { id: moduleId }) : null;
  if (!m) throw notFound('Module');
  return m;
}

async function findLesson(em: EntityManager, lessonId: string): Promise<Lesson> {
  const l = isUuid(lessonId) ? await em.findOne(Lesson, { id: lessonId }) : null;
  if (!l) throw notFound('Lesson');
  return l;
}

export class ContentService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  addModule(input: AddModuleInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'addModule', input, async (em, tenantId) => {
      const course = await lockCourse(em, tenantId, input.courseId);
      await assertCanEdit(em, actor, course);
      const title = cleanTitle(input.title);
      const content = await draftOf(em, course);
      const position = checkPosition(input.position, content.modules.length);
      const id = randomUUID();
      const module = em.create(CourseModule, {
        id,
        tenantId,
        courseId: course.id,
        versionId: content.draft.id,
        lineageId: id,
        position,
        title,
      });
      content.modules.splice(position, 0, module);
      renumber(content.modules);
      course.updatedAt = new Date();
      return { courseId: course.id, moduleId: id, errors: [] };
    });
  }

  updateModule(input: UpdateModuleInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'updateModule', input, async (em, tenantId) => {
      const original = await findModule(em, input.moduleId);
      const course = await lockCourse(em, tenantId, original.courseId);
      await assertCanEdit(em, actor, course);
      const title = input.title != null ? cleanTitle(input.title) : undefined;
      const content = await draftOf(em, course);
      const module = draftModule(content, original);
      if (title !== undefined) module.title = title;
      if (input.position != null) {
        const rest = content.modules.filter((m) => m !== module);
        rest.splice(checkPosition(input.position, rest.length), 0, module);
        renumber(rest);
      }
      course.updatedAt = new Date();
      return { courseId: course.id, moduleId: module.id, errors: [] };
    });
  }

  /** Removes the module and its lessons from the draft (the published version keeps them). */
  removeModule(input: RemoveModuleInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'removeModule', input, async (em, tenantId) => {
      const original = await findModule(em, input.moduleId);
      const course = await lockCourse(em, tenantId, original.courseId);
      await assertCanEdit(em, actor, course);
      const content = await draftOf(em, course);
      const module = draftModule(content, original);
      for (const lesson of content.lessonsByModule.get(module.id) ?? []) em.remove(lesson);
      em.remove(module);
      renumber(content.modules.filter((m) => m !== module));
      course.updatedAt = new Date();
      return { courseId: course.id, removedId: module.id, errors: [] };
    });
  }

  async addLesson(input: AddLessonInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    const media = await askMedia(this.#deps, input.kind === 'VIDEO' ? videoToAsk(input) : []);
    return runMutation(this.#deps, 'addLesson', input, async (em, tenantId) => {
      const original = await findModule(em, input.moduleId);
      const course = await lockCourse(em, tenantId, original.courseId);
      await assertCanEdit(em, actor, course);
      const title = cleanTitle(input.title);
      if (!(input.kind in CONTENT_FIELD)) throw badInput('kind is not a lesson kind', 'kind');
      const fields = checkContent(input.kind, input, true);
      assertVideoExists(media, fields.videoAssetId);
      const durationSeconds = checkDuration(input.durationSeconds);
      const content = await draftOf(em, course);
      const module = draftModule(content, original);
      const siblings = content.lessonsByModule.get(module.id) ?? [];
      const position = checkPosition(input.position, siblings.length);
      const id = randomUUID();
      const lesson = em.create(Lesson, {
        id,
        tenantId,
        courseId: course.id,
        versionId: content.draft.id,
        moduleId: module.id,
        lineageId: id,
        position,
        title,
        kind: input.kind,
        required: input.required ?? true,
        durationSeconds,
        body: fields.body ?? null,
        videoAssetId: fields.videoAssetId ?? null,
        quizId: fields.quizId ?? null,
        externalUrl: fields.externalUrl ?? null,
      });
      siblings.splice(position, 0, lesson);
      renumber(siblings);
      course.updatedAt = new Date();
      return { courseId: course.id, moduleId: module.id, lessonId: id, errors: [] };
    });
  }

  /** Changes the draft's copy of the lesson. A lesson's kind is fixed: replace the lesson to change it. */
  async updateLesson(input: UpdateLessonInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    // The lesson's kind is not known yet: a videoId for a lesson of another kind is asked about, then refused by checkContent.
    const media = await askMedia(this.#deps, videoToAsk(input));
    return runMutation(this.#deps, 'updateLesson', input, async (em, tenantId) => {
      const original = await findLesson(em, input.lessonId);
      const course = await lockCourse(em, tenantId, original.courseId);
      await assertCanEdit(em, actor, course);
      const title = input.title != null ? cleanTitle(input.title) : undefined;
      const fields = checkContent(original.kind, input, false);
      assertVideoExists(media, fields.videoAssetId);
      const durationSeconds = input.durationSeconds !== undefined ? checkDuration(input.durationSeconds) : undefined;
      const content = await draftOf(em, course);
      const { lesson } = draftLesson(content, original);
      if (title !== undefined) lesson.title = title;
      if (input.required != null) lesson.required = input.required;
      if (durationSeconds !== undefined) lesson.durationSeconds = durationSeconds;
      if (fields.body !== undefined) lesson.body = fields.body;
      if (fields.videoAssetId !== undefined) lesson.videoAssetId = fields.videoAssetId;
      if (fields.quizId !== undefined) lesson.quizId = fields.quizId;
      if (fields.externalUrl !== undefined) lesson.externalUrl = fields.externalUrl;
      course.updatedAt = new Date();
      return { courseId: course.id, moduleId: lesson.moduleId, lessonId: lesson.id, errors: [] };
    });
  }

  removeLesson(input: RemoveLessonInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'removeLesson', input, async (em, tenantId) => {
      const original = await findLesson(em, input.lessonId);
      const course = await lockCourse(em, tenantId, original.courseId);
      await assertCanEdit(em, actor, course);
      const content = await draftOf(em, course);
      const { lesson, siblings } = draftLesson(content, original);
      em.remove(lesson);
      renumber(siblings.filter((l) => l !== lesson));
      course.updatedAt = new Date();
      return { courseId: course.id, moduleId: lesson.moduleId, removedId: lesson.id, errors: [] };
    });
  }

  /** Moves a lesson within its module or to another module of the same course. */
  moveLesson(input: MoveLessonInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    return runMutation(this.#deps, 'moveLesson', input, async (em, tenantId) => {
      const original = await findLesson(em, input.lessonId);
      const targetOriginal = input.moduleId != null ? await findModule(em, input.moduleId) : null;
      if (targetOriginal && targetOriginal.courseId !== original.courseId) {
        throw badInput('A lesson can move only to a module of the same course', 'moduleId');
      }
      const course = await lockCourse(em, tenantId, original.courseId);
      await assertCanEdit(em, actor, course);
      const content = await draftOf(em, course);
      const { lesson, siblings } = draftLesson(content, original);
      const target = targetOriginal ? draftModule(content, targetOriginal) : content.modules.find((m) => m.id === lesson.moduleId)!;
      const from = siblings.filter((l) => l !== lesson);
      const to = target.id === lesson.moduleId ? from : [...(content.lessonsByModule.get(target.id) ?? [])];
      to.splice(checkPosition(input.position, to.length), 0, lesson);
      lesson.moduleId = target.id;
      renumber(from);
      renumber(to);
      course.updatedAt = new Date();
      return { courseId: course.id, moduleId: target.id, lessonId: lesson.id, errors: [] };
    });
  }
}
