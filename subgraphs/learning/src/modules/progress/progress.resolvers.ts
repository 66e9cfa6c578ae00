// Thin resolvers: parse, call a service or the reads, map. Every relation goes through the
// request's DataLoaders (ProgressReads), so a page of N enrollments costs what one does.
import type { Resolvers } from '../../__generated__/resolvers.ts';
import { lessonView, type LessonProgressView } from './progress.reads.ts';

export const progressResolvers: Resolvers = {
  Query: {
    courseProgress: (_p, { enrollmentId }, ctx) => ctx.reads.visible(enrollmentId),
    completionPolicy: (_p, { courseId }, ctx) => ctx.policies.get(courseId),
  },
  Mutation: {
    recordProgress: (_p, { input }, ctx) => ctx.heartbeats.record(input),
    syncProgress: (_p, { input }, ctx) => ctx.sync.sync(input),
    setCompletionPolicy: (_p, { input }, ctx) => ctx.policies.set(input),
  },
  Course: {
    __resolveReference: (ref) => ({ id: ref.id }),
    myProgress: (course, _a, ctx) => ctx.reads.mine(course.id),
  },
  Enrollment: {
    __resolveReference: (ref) => ({ id: ref.id }),
    progress: (enrollment, _a, ctx) => ctx.reads.visible(enrollment.id),
  },
  CourseProgress: {
    enrollmentId: (v) => v.enrollment.id,
    enrollment: (v) => ({ id: v.enrollment.id }),
    learner: (v) => ({ id: v.enrollment.learnerId }),
    course: (v) => ({ id: v.enrollment.courseId }),
    courseVersionId: (v) => v.enrollment.courseVersionId,
    status: (v) => v.enrollment.progressStatus,
    startedAt: (v) => v.enrollment.startedAt ?? null,
    completedAt: (v) => v.enrollment.completedAt ?? null,
    requiredLessons: async (v, _a, ctx) => (await ctx.reads.summary(v.enrollment)).requiredLessons,
    completedRequiredLessons: async (v, _a, ctx) => (await ctx.reads.summary(v.enrollment)).completedRequiredLessons,
    percent: async (v, _a, ctx) => (await ctx.reads.summary(v.enrollment)).percent,
    watchedSeconds: async (v, _a, ctx) => (await ctx.reads.summary(v.enrollment)).watchedSeconds,
    lessons: async (v, _a, ctx) => (await ctx.reads.summary(v.enrollment)).lessons,
  },
  LessonProgress: {
    lesson: (v: LessonProgressView) => ({ id: v.lesson.lessonId }),
    lessonId: (v) => v.lesson.lessonId,
    required: (v) => v.lesson.required,
    status: (v) => lessonView.status(v),
    position: (v) => lessonView.position(v),
    watchedSeconds: (v) => lessonView.watchedSeconds(v),
    watchedFraction: (v) => lessonView.watchedFraction(v),
    watchedRanges: (v) => lessonView.watchedRanges(v),
    completedAt: (v) => lessonView.completedAt(v),
  },
  SyncProgressPayload: {
    lessons: async (r, _a, ctx) => {
      const views = await Promise.all(r.enrollmentIds.map(async (id) => {
        const e = await ctx.loaders.enrollment.load(id);
        return e ? (await ctx.reads.summary(e)).lessons : [];
      }));
      const wanted = new Set(r.lessons.map((l) => `${l.enrollmentId}|${l.lessonId}`));
      return views.flat().filter((v) => wanted.has(`${v.enrollment.id}|${v.lesson.lessonId}`));
    },
    courses: async (r, _a, ctx) => {
      const list = await Promise.all(r.enrollmentIds.map((id) => ctx.loaders.enrollment.load(id)));
      return list.filter((e) => e !== null).map((enrollment) => ({ enrollment }));
    },
    errors: (r) => r.errors,
  },
  SetCompletionPolicyPayload: {
    policy: (r, _a, ctx) => ctx.policies.get(r.courseId),
    errors: (r) => r.errors,
  },
  CompletionPolicy: {
    courseId: (v) => v.courseId,
    video: (v) => ({ rule: v.policy.VIDEO.rule, threshold: 'threshold' in v.policy.VIDEO ? v.policy.VIDEO.threshold : null }),
    text: (v) => ({ rule: v.policy.TEXT.rule, threshold: 'threshold' in v.policy.TEXT ? v.policy.TEXT.threshold : null }),
    quiz: (v) => ({ rule: v.policy.QUIZ.rule, threshold: 'threshold' in v.policy.QUIZ ? v.policy.QUIZ.threshold : null }),
    external: (v) => ({ rule: v.policy.EXTERNAL.rule, threshold: 'threshold' in v.policy.EXTERNAL ? v.policy.EXTERNAL.threshold : null }),
    course: (v) => v.policy.course.rule,
    custom: (v) => v.custom,
    updatedAt: (v) => v.updatedAt,
  },
};
