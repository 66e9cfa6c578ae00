// Reading the catalog with the caller's eyes. Authors see every course of the organization
// and its latest version (the draft when there is one); everyone else sees published courses
// and their published version only. Another organization's course is simply not there (the
// unit of work scopes every query), so it is indistinguishable from a missing one.
import { badInput, decodeCursor, isUuid, pageSize, toConnection, type Actor, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import { requireReader, seesDrafts } from '../../access.ts';
import type { CatalogLoaders } from '../../loaders.ts';
import type { CourseModule, Lesson } from '../content/content.entity.ts';
import { COURSE_STATUSES, type CourseStatus } from './course.entity.ts';
import { courseBySlug, courseColumns, coursePage, parseCourse, type CoursePageRow, type CourseRecord, type VersionHead, type VersionRecord } from './course.store.ts';

export interface CourseFilter {
  status?: CourseStatus | null;
  authorId?: string | null;
  titleContains?: string | null;
}

const MAX_SEARCH_QUERY = 200;
/** created_at in a cursor: UTC with microseconds (a JavaScript Date would lose them). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface CourseRow {
  course: CourseRecord;
  cursor: string;
}

function courseConnection(rows: CourseRow[], limit: number, hasPrevious: boolean): Connection<CourseRecord> {
  const connection = toConnection(rows, limit, (r) => [r.cursor, r.course.id], hasPrevious);
  return {
    ...connection,
    edges: connection.edges.map((e) => ({ cursor: e.cursor, node: e.node.course })),
    nodes: connection.nodes.map((r) => r.course),
  };
}

export class CatalogQueries {
  #actor: Actor;
  #uow: UnitOfWork;
  #loaders: CatalogLoaders;

  constructor(deps: { actor: Actor; uow: UnitOfWork; loaders: CatalogLoaders }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#loaders = deps.loaders;
  }

  get #tenantId(): string {
    requireReader(this.#actor);
    return this.#actor.tenantId;
  }

  /** Whether the caller sees drafts. */
  get authorView(): boolean {
    return seesDrafts(this.#actor);
  }

  /** The course if the caller may see it; null for missing, another tenant's, or (for learners) unpublished ones. */
  async course(id: string): Promise<CourseRecord | null> {
    requireReader(this.#actor);
    if (!isUuid(id)) return null;
    return this.visible(await this.#loaders.course.load(id.toLowerCase()));
  }

  async courses(ids: readonly string[]): Promise<CourseRecord[]> {
    requireReader(this.#actor);
    const found = await this.#loaders.course.loadMany(ids.filter(isUuid));
    return found.filter((c): c is CourseRecord => c !== null && !(c instanceof Error) && this.visible(c) !== null);
  }

  async courseBySlug(slug: string): Promise<CourseRecord | null> {
    const tenantId = this.#tenantId;
    const course = await courseBySlug(this.#uow, tenantId, slug);
    if (course) this.#loaders.course.clear(course.id).prime(course.id, course);
    return this.visible(course);
  }

  visible(course: CourseRecord | null): CourseRecord | null {
    if (!course) return null;
    return this.authorView || course.publishedVersionId ? course : null;
  }

  /** The version whose content the caller sees: latest for authors, published for everyone else. */
  visibleVersionId(course: CourseRecord): string | null {
    return this.authorView ? course.latestVersionId : (course.publishedVersionId ?? null);
  }

  async visibleVersion(course: CourseRecord): Promise<VersionRecord | null> {
    const id = this.visibleVersionId(course);
    return id ? this.#loaders.version.load(id) : null;
  }

  /** The title and status of the visible version (a listing has them already). */
  async visibleVersionHead(course: CourseRecord): Promise<VersionHead | null> {
    const id = this.visibleVersionId(course);
    return id ? this.#loaders.versionHead.load(id) : null;
  }

  async publishedVersion(course: CourseRecord): Promise<VersionRecord | null> {
    return course.publishedVersionId ? this.#loaders.version.load(course.publishedVersionId) : null;
  }

  /** Authors only: the draft being prepared, when there is one. */
  async draftVersion(course: CourseRecord): Promise<VersionRecord | null> {
    if (!this.authorView) return null;
    const latest = await this.#loaders.version.load(course.latestVersionId);
    return latest?.status === 'DRAFT' ? latest : null;
  }

  async modules(versionId: string | null): Promise<CourseModule[]> {
    return versionId ? this.#loaders.modulesByVersion.load(versionId) : [];
  }

  async lessons(moduleId: string): Promise<Lesson[]> {
    return this.#loaders.lessonsByModule.load(moduleId);
  }

  /** The course of a module or lesson the caller reached through it (so it is visible). */
  async courseOf(child: { courseId: string }): Promise<CourseRecord> {
    const course = await this.#loaders.course.load(child.courseId);
    if (!course) throw new Error(`course ${child.courseId} of a visible module or lesson is missing`);
    return course;
  }

  async moduleOf(lesson: Lesson): Promise<CourseModule> {
    const module = await this.#loaders.module.load(lesson.moduleId);
    if (!module) throw new Error(`module ${lesson.moduleId} of a visible lesson is missing`);
    return module;
  }

  async prerequisites(course: CourseRecord): Promise<CourseRecord[]> {
    const links = await this.#loaders.prerequisitesByCourse.load(course.id);
    return this.courses(links.map((l) => l.prerequisiteCourseId));
  }

  async authorIds(course: CourseRecord): Promise<string[]> {
    return this.#loaders.authorIdsByCourse.load(course.id);
  }

  /**
   * The lesson if the caller may see it: authors see every version's lessons; everyone else
   * only the lessons of the course's published version.
   */
  async lesson(id: string): Promise<Lesson | null> {
    requireReader(this.#actor);
    if (!isUuid(id)) return null;
    const lesson = await this.#loaders.lesson.load(id.toLowerCase());
    if (!lesson) return null;
    if (this.authorView) return lesson;
    const course = await this.#loaders.course.load(lesson.courseId);
    return course?.publishedVersionId === lesson.versionId ? lesson : null;
  }

  /** Courses newest first (created_at desc, id desc), as a Relay connection. */
  async listCourses(args: PageArgs & { filter?: CourseFilter | null }): Promise<Connection<CourseRecord>> {
    const tenantId = this.#tenantId;
    const limit = pageSize(args);
    const after = decodeCursor(args.after, 2);
    const filter = args.filter ?? {};
    const where: string[] = ['c.tenant_id = ?'];
    const params: unknown[] = [tenantId];
    const versionColumn = this.authorView ? 'latest_version_id' : 'published_version_id';
    if (!this.authorView) where.push('c.published_version_id IS NOT NULL');
    if (filter.status != null) {
      if (!COURSE_STATUSES.includes(filter.status)) throw badInput('status is not a course status', 'filter.status');
      where.push('c.status = ?');
      params.push(filter.status);
    }
    if (filter.authorId != null) {
      if (!isUuid(filter.authorId)) throw badInput('authorId is not a valid id', 'filter.authorId');
      where.push('EXISTS (SELECT 1 FROM course_authors a WHERE a.tenant_id = c.tenant_id AND a.course_id = c.id AND a.user_id = ?)');
      params.push(filter.authorId);
    }
    if (filter.titleContains != null && filter.titleContains.trim() !== '') {
      where.push(`EXISTS (SELECT 1 FROM course_versions v WHERE v.tenant_id = c.tenant_id AND v.id = c.${versionColumn} AND v.title ILIKE ? ESCAPE '\\')`);
      params.push(`%${filter.titleContains.trim().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
    }
    if (after) {
      const [createdAt, id] = after;
      if (typeof createdAt !== 'string' || !CURSOR_TIME.test(createdAt) || !isUuid(id)) throw badInput('after is not a valid cursor', 'after');
      where.push('(c.created_at, c.id) < (?::timestamptz, ?::uuid)');
      params.push(createdAt, id);
    }
    params.push(limit + 1);
    // One statement per page: the courses, their visible version's title and status, their author ids.
    const rows = await coursePage(
      this.#uow,
      tenantId,
      {
        sql: `SELECT ${courseColumns('c')}, to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM courses c
               WHERE ${where.join(' AND ')}
               ORDER BY c.created_at DESC, c.id DESC
               LIMIT ?`,
        params,
        orderBy: 'p.created_at DESC, p.id DESC',
      },
      versionColumn,
    );
    for (const row of rows) this.#prime(row);
    return courseConnection(rows, limit, after !== null);
  }

  /**
   * Full-text search over the title and description of published versions, best match first
   * (ts_rank desc, id desc). The join on courses.published_version_id is evaluated by the
   * query itself, so an unpublished course is never returned once the unpublish committed.
   */
  async searchCourses(args: PageArgs & { query: string }): Promise<Connection<CourseRecord>> {
    const tenantId = this.#tenantId;
    const limit = pageSize(args);
    const query = args.query.trim();
    if (query === '') throw badInput('query must not be blank', 'query');
    if (query.length > MAX_SEARCH_QUERY) throw badInput(`query must be at most ${MAX_SEARCH_QUERY} characters`, 'query');
    const after = decodeCursor(args.after, 2);
    const params: unknown[] = [query, tenantId];
    let page = '';
    if (after) {
      const [rank, id] = after;
      if (typeof rank !== 'string' || !Number.isFinite(Number(rank)) || !isUuid(id)) throw badInput('after is not a valid cursor', 'after');
      page = 'AND (r.rank < ?::real OR (r.rank = ?::real AND r.id < ?::uuid))';
      params.push(rank, rank, id);
    }
    params.push(limit + 1);
    const rows = await this.#rows(
      `SELECT r.*, r.rank::text AS cursor_at FROM (
         SELECT ${courseColumns('c')}, ts_rank(v.search_vector, q.query) AS rank
           FROM courses c
           JOIN course_versions v ON v.tenant_id = c.tenant_id AND v.id = c.published_version_id
           CROSS JOIN websearch_to_tsquery('english', ?) AS q(query)
          WHERE c.tenant_id = ? AND v.search_vector @@ q.query
       ) r
       WHERE true ${page}
       ORDER BY r.rank DESC, r.id DESC
       LIMIT ?`,
      params,
    );
    return courseConnection(rows, limit, after !== null);
  }

  /** A listed course answers later lookups of it, its version's head and its authors. */
  #prime(row: CoursePageRow): void {
    const { course, version, authorIds } = row;
    this.#loaders.course.clear(course.id).prime(course.id, course);
    if (version) this.#loaders.versionHead.clear(version.id).prime(version.id, version);
    this.#loaders.authorIdsByCourse.clear(course.id).prime(course.id, authorIds);
  }

  /** Runs a course query and turns its rows into plain course rows (primed into the loader). */
  async #rows(sql: string, params: unknown[]): Promise<CourseRow[]> {
    const raw = await this.#uow.statement(sql, params);
    return raw.map((row) => {
      const course = parseCourse(row);
      this.#loaders.course.clear(course.id).prime(course.id, course);
      return { course, cursor: String(row.cursor_at) };
    });
  }
}
