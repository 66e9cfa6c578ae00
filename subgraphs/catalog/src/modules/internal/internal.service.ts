// What catalog tells other contexts on request (callers prove who they are with their service
// credentials): the structure of courses and published versions, for offerings (enrollment),
// completion policies (learning), which videos a version shows (media), what a completed
// version is called and its quizzes (certification), and courses' titles for learners' emails
// (notifications).
// Read in the organization's unit of work, so RLS scopes it like any request.
import { inTenant } from '@lectern/kernel';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CourseStructure } from '@lectern/contracts/catalog';
import { Course, CoursePrerequisite, CourseVersion } from '../course/course.entity.ts';
import { CourseModule, Lesson } from '../content/content.entity.ts';

type Request = { tenantId: string; courseIds: string[]; versionIds: string[] };

export class InternalService {
  #orm: MikroORM;
  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  structure({ tenantId, courseIds, versionIds }: Request): Promise<CourseStructure> {
    return inTenant(this.#orm, tenantId, async (uow) => {
      const em = await uow.em();
      const [courses, prerequisites, versions] = await Promise.all([
        courseIds.length ? em.find(Course, { id: { $in: courseIds } }) : [],
        courseIds.length ? em.find(CoursePrerequisite, { courseId: { $in: courseIds } }, { orderBy: { createdAt: 'asc' } }) : [],
        versionIds.length ? em.find(CourseVersion, { id: { $in: versionIds }, status: { $ne: 'DRAFT' } }) : [],
      ]);
      const ids = versions.map((v) => v.id);
      const titled = courses.map((c) => c.publishedVersionId ?? c.latestVersionId);
      const [modules, lessons, titles] = await Promise.all([
        ids.length ? em.find(CourseModule, { versionId: { $in: ids } }) : [],
        ids.length ? em.find(Lesson, { versionId: { $in: ids } }) : [],
        titled.length ? em.find(CourseVersion, { id: { $in: titled } }, { fields: ['id', 'title'] }) : [],
      ]);
      const titleOf = new Map(titles.map((v) => [v.id, v.title]));
      const modulePosition = new Map(modules.map((m) => [m.id, m.position]));
      const ordered = lessons.sort((a, b) => (modulePosition.get(a.moduleId) ?? 0) - (modulePosition.get(b.moduleId) ?? 0) || a.position - b.position);
      return {
        courses: courses.map((c) => ({
          courseId: c.id,
          title: titleOf.get(c.publishedVersionId ?? c.latestVersionId) ?? '',
          status: c.status,
          publishedVersionId: c.publishedVersionId ?? null,
          prerequisiteCourseIds: prerequisites.filter((p) => p.courseId === c.id).map((p) => p.prerequisiteCourseId),
        })),
        versions: versions.map((v) => ({
          versionId: v.id,
          courseId: v.courseId,
          number: v.number,
          status: v.status as 'PUBLISHED' | 'SUPERSEDED' | 'WITHDRAWN',
          title: v.title,
          description: v.description,
          lessons: ordered
            .filter((l) => l.versionId === v.id)
            .map((l) => ({
              lessonId: l.id,
              lineageId: l.lineageId,
              moduleId: l.moduleId,
              kind: l.kind,
              required: l.required,
              durationSeconds: l.durationSeconds ?? null,
              quizId: l.quizId ?? null,
              videoAssetId: l.videoAssetId ?? null,
            })),
        })),
      };
    });
  }
}
