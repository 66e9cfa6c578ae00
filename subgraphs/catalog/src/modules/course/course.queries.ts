// Reading the catalog with the caller's eyes. Authors see every course of the organization
// and its latest version (the draft when there is one); everyone else sees published courses
// and their published version only. Another organization's course is simply not there (the
// unit of work scopes every query), so it is indistinguishable from a missing one.
import { badInput, isUuid, mapConnection, pageRequest, toConnection, type Actor, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import { requireReader, seesDrafts } from '../../access.ts';
import type { CatalogLoaders } from '../../loaders.ts';
import type { CourseModule, Lesson } from '../content/content.entity.ts';
import { COURSE_STATUSES, type CourseStatus } from './course.entity.ts';
import { courseBySlug, courseColumns, coursePage, parseCourse, type CoursePageRow, type CourseRecord, type VersionHead, type VersionRecord } from './course.store.ts';

interface CourseRow {
  course: CourseRecord;
  cursor: string;
}

export interface CourseFilter {
  status?: CourseStatus | null;
  /** A plain user id (the resolver decoded the global one). */
  authorId?: string | null;
  titleContains?: string | null;
}

export const COURSE_ORDER_FIELDS = ['TITLE', 'CREATED_AT', 'UPDATED_AT', 'PUBLISHED_AT'] as const;
export type CourseOrderField = (typeof COURSE_ORDER_FIELDS)[number];
export interface CourseOrder {
  field: CourseOrderField;
  direction: 'ASC' | 'DESC';
}
const DEFAULT_ORDER: CourseOrder = { field: 'CREATED_AT', direction: 'DESC' };

const MAX_SEARCH_QUERY = 200;
/** A timestamp in a cursor: UTC with microseconds (a JavaScript Date would lose them). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const cursorTime = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The sort key of each order, over the listing's aliases (c: courses, sv: the version the
 * caller sees, pv: the published version), the same key as cursor text, and its SQL type.
 */
const ORDER_KEYS: Record<CourseOrderField, { key: string; type: 'text' | 'timestamptz' }> = {
  TITLE: { key: 'lower(sv.title)', type: 'text' },
  CREATED_AT: { key: 'c.created_at', type: 'timestamptz' },
  UPDATED_AT: { key: 'c.updated_at', type: 'timestamptz' },
  // Courses that are not published sort as the oldest (keyset pages need a non-null key).
  PUBLISHED_AT: { key: "COALESCE(pv.published_at, '0001-01-01T00:00:00Z'::timestamptz)", type: 'timestamptz' },
};

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
   * A version the caller may see: readers see every version that was ever published
   * (published, superseded, withdrawn: an offering keeps running the one it pinned); authors
   * also drafts. Another organization's is missing (the unit of work scopes every query).
   */
  async version(id: string): Promise<VersionRecord | null> {
    requireReader(this.#actor);
    if (!isUuid(id)) return null;
    const version = await this.#loaders.version.load(id.toLowerCase());
    return version && (this.authorView || version.status !== 'DRAFT') ? version : null;
  }

  /** A module the caller may see (its version is visible). */
  async module(id: string): Promise<CourseModule | null> {
    requireReader(this.#actor);
    if (!isUuid(id)) return null;
    const module = await this.#loaders.module.load(id.toLowerCase());
    return module && (await this.#versionVisible(module.versionId)) ? module : null;
  }

  /** A lesson the caller may see (its version is visible), whatever version is published now. */
  async lesson(id: string): Promise<Lesson | null> {
    requireReader(this.#actor);
    if (!isUuid(id)) return null;
    const lesson = await this.#loaders.lesson.load(id.toLowerCase());
    return lesson && (await this.#versionVisible(lesson.versionId)) ? lesson : null;
  }

  /** The version a visible module or lesson belongs to. */
  async versionOf(child: { versionId: string }): Promise<VersionRecord> {
    const version = await this.#loaders.version.load(child.versionId);
    if (!version) throw new Error(`version ${child.versionId} of a visible module or lesson is missing`);
    return version;
  }

  async #versionVisible(versionId: string): Promise<boolean> {
    if (this.authorView) return true;
    const head = await this.#loaders.versionHead.load(versionId);
    return head !== null && head.status !== 'DRAFT';
  }

  /** Courses in the requested order (ties by id), as a Relay connection paged either way. */
  async listCourses(args: PageArgs & { orderBy?: CourseOrder | null; filter?: CourseFilter | null }): Promise<Connection<CourseRecord>> {
    const tenantId = this.#tenantId;
    const page = pageRequest(args, 3);
    const order = args.orderBy ?? DEFAULT_ORDER;
    if (!COURSE_ORDER_FIELDS.includes(order.field)) throw badInput('orderBy.field is not a course order', 'orderBy.field');
    const sort = ORDER_KEYS[order.field];
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
      if (!isUuid(filter.authorId)) throw badInput('filter.authorId is not a User id', 'filter.authorId');
      where.push('EXISTS (SELECT 1 FROM course_authors a WHERE a.tenant_id = c.tenant_id AND a.course_id = c.id AND a.user_id = ?)');
      params.push(filter.authorId.toLowerCase());
    }
    if (filter.titleContains != null && filter.titleContains.trim() !== '') {
      where.push(`EXISTS (SELECT 1 FROM course_versions v WHERE v.tenant_id = c.tenant_id AND v.id = c.${versionColumn} AND v.title ILIKE ? ESCAPE '\\')`);
      params.push(`%${filter.titleContains.trim().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
    }
    // totalCount: the whole filtered list (no cursor), counted only if selected.
    const totalCount = this.#count(`SELECT count(*)::int AS n FROM courses c WHERE ${where.join(' AND ')}`, [...params]);
    // Reading backwards (last/before) reverses the order and the comparison; toConnection puts the page back.
    const desc = (order.direction === 'DESC') !== page.backward;
    const dir = desc ? 'DESC' : 'ASC';
    if (page.cursor) {
      const [field, key, id] = page.cursor;
      const cursorField = page.backward ? 'before' : 'after';
      const validKey = typeof key === 'string' && (sort.type === 'text' ? key.length <= 1000 : CURSOR_TIME.test(key));
      if (field !== order.field || !validKey || !isUuid(id)) throw badInput(`${cursorField} is not a cursor of this order`, cursorField);
      where.push(`(${sort.key}, c.id) ${desc ? '<' : '>'} (?::${sort.type}, ?::uuid)`);
      params.push(key, id);
    }
    params.push(page.limit + 1);
    const cursorText = sort.type === 'timestamptz' ? cursorTime(sort.key) : sort.key;
    // One statement per page: the courses, their visible version's title and status, their author ids.
    const rows = await coursePage(
      this.#uow,
      tenantId,
      {
        sql: `SELECT ${courseColumns('c')}, ${sort.key} AS sort_key, ${cursorText} AS cursor_at
                FROM courses c
                LEFT JOIN course_versions sv ON sv.tenant_id = c.tenant_id AND sv.id = c.${versionColumn}
                LEFT JOIN course_versions pv ON pv.tenant_id = c.tenant_id AND pv.id = c.published_version_id
               WHERE ${where.join(' AND ')}
               ORDER BY ${sort.key} ${dir}, c.id ${dir}
               LIMIT ?`,
        params,
        orderBy: `p.sort_key ${dir}, p.id ${dir}`,
      },
      versionColumn,
    );
    for (const row of rows) this.#prime(row);
    const connection = toConnection(rows, page, (r) => [order.field, r.cursor, r.course.id], totalCount);
    return mapConnection(connection, (r) => r.course);
  }

  /**
   * Full-text search over the title and description of published versions, best match first
   * (ts_rank desc, id desc; backwards for last/before). The join on courses.published_version_id
   * is evaluated by the query itself, so an unpublished course is never returned once the
   * unpublish committed.
   */
  async searchCourses(args: PageArgs & { query: string }): Promise<Connection<CourseRecord>> {
    const tenantId = this.#tenantId;
    const page = pageRequest(args, 2);
    const query = args.query.trim();
    if (query === '') throw badInput('query must not be blank', 'query');
    if (query.length > MAX_SEARCH_QUERY) throw badInput(`query must be at most ${MAX_SEARCH_QUERY} characters`, 'query');
    const desc = !page.backward;
    const dir = desc ? 'DESC' : 'ASC';
    const params: unknown[] = [query, tenantId];
    let after = '';
    if (page.cursor) {
      const [rank, id] = page.cursor;
      const cursorField = page.backward ? 'before' : 'after';
      if (typeof rank !== 'string' || !Number.isFinite(Number(rank)) || !isUuid(id)) throw badInput(`${cursorField} is not a valid cursor`, cursorField);
      const op = desc ? '<' : '>';
      after = `AND (r.rank ${op} ?::real OR (r.rank = ?::real AND r.id ${op} ?::uuid))`;
      params.push(rank, rank, id);
    }
    params.push(page.limit + 1);
    const rows = await this.#rows(
      `SELECT r.*, r.rank::text AS cursor_at FROM (
         SELECT ${courseColumns('c')}, ts_rank(v.search_vector, q.query) AS rank
           FROM courses c
           JOIN course_versions v ON v.tenant_id = c.tenant_id AND v.id = c.published_version_id
           CROSS JOIN websearch_to_tsquery('english', ?) AS q(query)
          WHERE c.tenant_id = ? AND v.search_vector @@ q.query
       ) r
       WHERE true ${after}
       ORDER BY r.rank ${dir}, r.id ${dir}
       LIMIT ?`,
      params,
    );
    const connection = toConnection(rows, page, (r) => [r.cursor, r.course.id], this.#count(
      `SELECT count(*)::int AS n
         FROM courses c
         JOIN course_versions v ON v.tenant_id = c.tenant_id AND v.id = c.published_version_id
        WHERE c.tenant_id = ? AND v.search_vector @@ websearch_to_tsquery('english', ?)`,
      [tenantId, query],
    ));
    return mapConnection(connection, (r) => r.course);
  }

  /** A connection's totalCount: the statement runs once, and only if a client selects the field. */
  #count(sql: string, params: unknown[]): () => Promise<number> {
    let count: Promise<number> | undefined;
    return () => (count ??= this.#uow.statement<{ n: unknown }>(sql, params).then((rows) => Number(rows[0]?.n ?? 0)));
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
