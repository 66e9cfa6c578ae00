// Thin resolvers: parse, call a service or the reads, map. Every relation goes through the
// request's DataLoaders (ProgressReads), so a page of N enrollments costs what one does.
// Ids leave as global ids (ids.ts) and arrive as global ids; services and SQL see plain UUIDs.
import { entityRef, globalId, globalIdOf, idOf } from '@lectern/kernel';
import type { Resolvers } from '../../__generated__/resolvers.ts';
import type { PolicyView } from '../policy/policy.service.ts';
import { lessonView, type CourseProgressView, type LessonProgressView } from './progress.reads.ts';

const ruleOf = (r: PolicyView['policy']['VIDEO']) => ({ rule: r.rule, threshold: 'threshold' in r ? r.threshold : null });
const courseProgressId = (v: CourseProgressView) => globalId('CourseProgress', v.enrollment.learnerId, v.enrollment.courseId);

export const progressResolvers: Resolvers = {
  Query: {
    courseProgress: (_p, { enrollmentId }, ctx) => ctx.reads.visible(idOf(enrollmentId, 'Enrollment')),
    completionPolicy: (_p, { courseId }, ctx) => ctx.policies.get(courseId),
  },
  Mutation: {
    recordProgress: (_p, { input }, ctx) => ctx.heartbeats.record(input),
    syncProgress: (_p, { input }, ctx) => ctx.sync.sync(input),
    setCompletionPolicy: (_p, { input }, ctx) => ctx.policies.set(input),
  },
  Course: {
    __resolveReference: (ref) => {
      const id = idOf(ref.id, 'Course');
      return id ? { id } : null;
    },
    id: globalIdOf('Course'),
    myProgress: (course, _a, ctx) => ctx.reads.mine(course.id),
    completionPolicy: (course, _a, ctx) => ctx.policies.view(course.id),
  },
  Enrollment: {
    __resolveReference: (ref) => {
      const id = idOf(ref.id, 'Enrollment');
      return id ? { id } : null;
    },
    id: globalIdOf('Enrollment'),
    progress: (enrollment, _a, ctx) => ctx.reads.visible(enrollment.id),
  },
  CourseProgress: {
    __resolveReference: (ref, ctx) => ctx.reads.courseProgress(ref.id),
    id: courseProgressId,
    enrollment: (v) => ({ id: v.enrollment.id }),
    learner: (v) => entityRef('User', v.enrollment.learnerId),
    course: (v) => ({ id: v.enrollment.courseId }),
    courseVersion: (v) => entityRef('CourseVersion', v.enrollment.courseVersionId),
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
    __resolveReference: (ref, ctx) => ctx.reads.lessonProgress(ref.id),
    id: (v: LessonProgressView) => globalId('LessonProgress', v.enrollment.learnerId, v.lesson.lessonId),
    lesson: (v: LessonProgressView) => entityRef('Lesson', v.lesson.lessonId),
    courseProgress: (v) => ({ enrollment: v.enrollment }),
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
    policy: (r, _a, ctx) => (r.courseId ? ctx.policies.view(r.courseId) : null),
    errors: (r) => r.errors,
  },
  CompletionPolicy: {
    __resolveReference: (ref, ctx) => ctx.policies.byId(ref.id),
    id: (v) => globalId('CompletionPolicy', v.courseId),
    course: (v) => ({ id: v.courseId }),
    video: (v) => ruleOf(v.policy.VIDEO),
    text: (v) => ruleOf(v.policy.TEXT),
    quiz: (v) => ruleOf(v.policy.QUIZ),
    external: (v) => ruleOf(v.policy.EXTERNAL),
    courseRule: (v) => v.policy.course.rule,
    minSessionAttendancePercent: (v) => v.policy.attendance?.minSessionPercent ?? null,
    custom: (v) => v.custom,
    updatedAt: (v) => v.updatedAt,
  },
};
