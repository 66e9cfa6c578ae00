// Reading progress: the views resolvers map (an enrollment with its lessons, each with its
// merged state), built from per-request DataLoaders, and the access rule applied to each.
import { isUuid, type Actor } from '@lectern/kernel';
import { canReadProgress } from '../../access.ts';
import type { LearningLoaders } from '../../loaders.ts';
import { effectiveDuration, readPolicy } from '../policy/policy.ts';
import type { Enrollment, LessonProgress, VersionLesson } from './progress.entity.ts';
import { parseMultirange } from './progress.store.ts';

export interface CourseRef {
  id: string;
}
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

  /** The enrollment if the caller may read its progress; null otherwise (missing, other organization, not allowed). */
  async visible(enrollmentId: string): Promise<CourseProgressView | null> {
    if (!isUuid(enrollmentId) || !this.#actor.tenantId) return null;
    const enrollment = await this.#loaders.enrollment.load(enrollmentId);
    if (!enrollment) return null;
    return (await canReadProgress(this.#actor, enrollment, () => this.#loaders.taughtCohorts())) ? { enrollment } : null;
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

