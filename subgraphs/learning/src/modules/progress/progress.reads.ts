// Reading progress: the views resolvers map (an enrollment with its lessons, each with its
// merged state), built from per-request DataLoaders, and the access rule applied to each.
import { isUuid, keysOf, type Actor } from '@lectern/kernel';
import { canReadProgress } from '../../access.ts';
import { pairKey, type LearningLoaders } from '../../loaders.ts';
import { effectiveDuration, readPolicy } from '../policy/policy.ts';
import type { Enrollment, LessonProgress, VersionLesson } from './progress.entity.ts';
import { parseMultirange } from './progress.store.ts';

/** A course (catalog's entity) by its plain UUID. */
export interface CourseRef {
  id: string;
}
/** An enrollment (enrollment's entity) by its plain UUID. */
export interface EnrollmentRef {
  id: string;
}
export interface CourseProgressView {
  enrollment: Enrollment;
}
export interface LessonProgressView {
  enrollment: Enrollment;
  lesson: VersionLesson;
  progress: LessonProgress | null;
}

export interface CourseSummary {
  lessons: LessonProgressView[];
  requiredLessons: number;
  completedRequiredLessons: number;
  percent: number;
  watchedSeconds: number;
}

export class ProgressReads {
  #actor: Actor;
  #loaders: LearningLoaders;
  #summaries = new WeakMap<Enrollment, Promise<CourseSummary>>();
  constructor(deps: { actor: Actor; loaders: LearningLoaders }) {
    this.#actor = deps.actor;
    this.#loaders = deps.loaders;
  }

  /** The enrollment (plain UUID) if the caller may read its progress; null otherwise (missing, other organization, not allowed). */
  async visible(enrollmentId: string | null): Promise<CourseProgressView | null> {
    if (!isUuid(enrollmentId) || !this.#actor.tenantId) return null;
    const enrollment = await this.#loaders.enrollment.load(enrollmentId);
    if (!enrollment) return null;
    return (await this.#mayRead(enrollment)) ? { enrollment } : null;
  }

  /** A CourseProgress by its global id (learner, course): the enrollment it shows, if the caller may read it. */
  async courseProgress(id: string): Promise<CourseProgressView | null> {
    const keys = keysOf(id, 'CourseProgress', 2);
    if (!keys || !this.#actor.tenantId) return null;
    const found = await this.#loaders.progressEnrollment.load(pairKey(keys[0]!, keys[1]!));
    return found && (await this.#mayRead(found.enrollment)) ? { enrollment: found.enrollment } : null;
  }

  /** A LessonProgress by its global id (learner, lesson), if the caller may read it. */
  async lessonProgress(id: string): Promise<LessonProgressView | null> {
    const keys = keysOf(id, 'LessonProgress', 2);
    if (!keys || !this.#actor.tenantId) return null;
    const found = await this.#loaders.lessonEnrollment.load(pairKey(keys[0]!, keys[1]!));
    if (!found || !(await this.#mayRead(found.enrollment))) return null;
    const progress = (await this.#loaders.progressByEnrollment.load(found.enrollment.id)).find((p) => p.lessonId === found.lesson.lessonId) ?? null;
    return { enrollment: found.enrollment, lesson: found.lesson, progress };
  }

  async #mayRead(enrollment: Enrollment): Promise<boolean> {
    return canReadProgress(this.#actor, enrollment, () => this.#loaders.taughtCohorts());
  }

  /** The caller's own progress in a course (their most recent enrollment in it). */
  async mine(courseId: string): Promise<CourseProgressView | null> {
    if (!isUuid(courseId) || !this.#actor.tenantId || !this.#actor.userId) return null;
    const [enrollment] = await this.#loaders.myEnrollmentsByCourse.load(courseId);
    return enrollment ? { enrollment } : null;
  }

  summary(enrollment: Enrollment): Promise<CourseSummary> {
    let s = this.#summaries.get(enrollment);
    if (!s) {
      s = this.#summarise(enrollment);
      this.#summaries.set(enrollment, s);
    }
    return s;
  }

  async #summarise(enrollment: Enrollment): Promise<CourseSummary> {
    const [lessons, progress, policyRow] = await Promise.all([
      this.#loaders.lessonsByVersion.load(enrollment.courseVersionId),
      this.#loaders.progressByEnrollment.load(enrollment.id),
      this.#loaders.policy.load(enrollment.courseId),
    ]);
    const policy = readPolicy(policyRow?.rules);
    const byLesson = new Map(progress.map((p) => [p.lessonId, p]));
    const views = lessons.map((lesson) => ({ enrollment, lesson, progress: byLesson.get(lesson.lessonId) ?? null }));
    const counted = views.filter((v) => policy.course.rule === 'ALL_LESSONS' || v.lesson.required);
    const done = counted.filter((v) => v.progress?.status === 'COMPLETED').length;
    return {
      lessons: views,
      requiredLessons: counted.length,
      completedRequiredLessons: done,
      percent: counted.length ? Math.round((done / counted.length) * 10000) / 100 : enrollment.progressStatus === 'COMPLETED' ? 100 : 0,
      watchedSeconds: progress.reduce((n, p) => n + p.watchedSeconds, 0),
    };
  }
}

export const lessonView = {
  status: (v: LessonProgressView) => v.progress?.status ?? 'NOT_STARTED',
  position: (v: LessonProgressView) => v.progress?.position ?? 0,
  watchedSeconds: (v: LessonProgressView) => v.progress?.watchedSeconds ?? 0,
  watchedFraction(v: LessonProgressView): number | null {
    const d = effectiveDuration({ durationSeconds: v.lesson.durationSeconds ?? null, reportedDurationSeconds: v.progress?.reportedDuration ?? null });
    if (d === null) return null;
    return Math.min(1, (v.progress?.coveredSeconds ?? 0) / d);
  },
  watchedRanges: (v: LessonProgressView) => parseMultirange(v.progress?.watched),
  completedAt: (v: LessonProgressView) => v.progress?.completedAt ?? null,
};

