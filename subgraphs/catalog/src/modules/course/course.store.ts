// Read-only course rows for responses: plain objects shaped once from explicit column lists,
// no change tracking (writes go through the ORM's entities in authoring.ts and the services).
// Every statement names tenant_id = ? itself (DESIGN rule 2); RLS is the second layer. Each read
// runs as one round trip of its own with the tenant setting (kernel uow.statement): a read needs
// nothing else of a transaction. The few raw statements of the writes (at the end: locks, the
// free slug, the prerequisite cycle check) take the write's EntityManager and run in its
// transaction.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Statements } from '@lectern/kernel';
import { optionalTimestamp, timestamp, uuidArrayLiteral, uuidList } from '@lectern/kernel/rows';
import type { Course, CourseStatus, CourseVersion, CourseVersionStatus } from './course.entity.ts';

/**
 * A course as the read side sees it: the columns of Course, as a plain object (the entity's
 * type, so entity and row are interchangeable as a resolver's parent).
 */
export type CourseRecord = Pick<
  Course,
  'id' | 'tenantId' | 'slug' | 'status' | 'latestVersionId' | 'publishedVersionId' | 'createdBy' | 'createdAt' | 'updatedAt'
>;

/** A course version: the columns of CourseVersion, never the search vector. */
export type VersionRecord = Pick<
  CourseVersion,
  'id' | 'tenantId' | 'courseId' | 'number' | 'title' | 'description' | 'status' | 'basedOnVersionId' | 'publishedAt' | 'createdAt' | 'updatedAt'
>;

/** What a course's card needs of its version: title and status. */
export interface VersionHead {
  id: string;
  title: string;
  status: CourseVersionStatus;
}

/** A page row of the listing: the course, its visible version's head and its author ids, in one statement. */
export interface CoursePageRow {
  course: CourseRecord;
  version: VersionHead | null;
  authorIds: string[];
  cursor: string;
}

type Row = Record<string, unknown>;

/** The course columns, as `alias.column`. */
export const courseColumns = (alias: string) =>
  ['id', 'tenant_id', 'slug', 'status', 'latest_version_id', 'published_version_id', 'created_by', 'created_at', 'updated_at']
    .map((c) => `${alias}.${c}`)
    .join(', ');

const VERSION_COLUMNS =
  'v.id, v.tenant_id, v.course_id, v.number, v.title, v.description, v.status, v.based_on_version_id, v.published_at, v.created_at, v.updated_at';


const str = (v: unknown) => String(v);
const optStr = (v: unknown) => (v == null ? null : String(v));

export function parseCourse(r: Row): CourseRecord {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    slug: str(r.slug),
    status: str(r.status) as CourseStatus,
    latestVersionId: str(r.latest_version_id),
    publishedVersionId: optStr(r.published_version_id),
    createdBy: optStr(r.created_by),
    createdAt: timestamp(r.created_at),
    updatedAt: timestamp(r.updated_at),
  };
}

function parseVersion(r: Row): VersionRecord {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    courseId: str(r.course_id),
    number: Number(r.number),
    title: str(r.title),
    description: r.description == null ? '' : str(r.description),
    status: str(r.status) as CourseVersionStatus,
    basedOnVersionId: optStr(r.based_on_version_id),
    publishedAt: optionalTimestamp(r.published_at),
    createdAt: timestamp(r.created_at),
    updatedAt: timestamp(r.updated_at),
  };
}


export async function coursesById(db: Statements, tenantId: string | null, ids: readonly string[]): Promise<CourseRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.statement<Row>(`SELECT ${courseColumns('c')} FROM courses c WHERE c.tenant_id = ? AND c.id = ANY(?::uuid[])`, [
    tenantId,
    uuidArrayLiteral(ids),
  ]);
  return rows.map(parseCourse);
}

export async function courseBySlug(db: Statements, tenantId: string | null, slug: string): Promise<CourseRecord | null> {
  const rows = await db.statement<Row>(`SELECT ${courseColumns('c')} FROM courses c WHERE c.tenant_id = ? AND c.slug = ?`, [tenantId, slug]);
  return rows[0] ? parseCourse(rows[0]) : null;
}

export async function versionsById(db: Statements, tenantId: string | null, ids: readonly string[]): Promise<VersionRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.statement<Row>(`SELECT ${VERSION_COLUMNS} FROM course_versions v WHERE v.tenant_id = ? AND v.id = ANY(?::uuid[])`, [
    tenantId,
    uuidArrayLiteral(ids),
  ]);
  return rows.map(parseVersion);
}

export async function versionHeadsById(db: Statements, tenantId: string | null, ids: readonly string[]): Promise<VersionHead[]> {
  if (ids.length === 0) return [];
  const rows = await db.statement<Row>(`SELECT v.id, v.title, v.status FROM course_versions v WHERE v.tenant_id = ? AND v.id = ANY(?::uuid[])`, [
    tenantId,
    uuidArrayLiteral(ids),
  ]);
  return rows.map((r) => ({ id: str(r.id), title: str(r.title), status: str(r.status) as CourseVersionStatus }));
}

/**
 * The videos of the VIDEO lessons of a course's latest version when it is not the published one
 * (the version publishCourse would publish), so media is asked about them before the publishing
 * transaction. None for a published latest version: publishing it again is ALREADY_PUBLISHED.
 */
export async function latestVersionVideoIds(db: Statements, tenantId: string, courseId: string): Promise<string[]> {
  const rows = await db.statement<Row>(
    `SELECT DISTINCT l.video_asset_id FROM courses c
       JOIN course_versions v ON v.tenant_id = c.tenant_id AND v.id = c.latest_version_id AND v.status <> 'PUBLISHED'
       JOIN lessons l ON l.tenant_id = v.tenant_id AND l.version_id = v.id
      WHERE c.tenant_id = ? AND c.id = ? AND l.kind = 'VIDEO' AND l.video_asset_id IS NOT NULL`,
    [tenantId, courseId],
  );
  return rows.map((r) => str(r.video_asset_id));
}

/** Author ids per course, in the order they were added. */
export async function authorIdsByCourse(
  db: Statements,
  tenantId: string | null,
  courseIds: readonly string[],
): Promise<{ courseId: string; userId: string }[]> {
  if (courseIds.length === 0) return [];
  const rows = await db.statement<Row>(
    `SELECT a.course_id, a.user_id FROM course_authors a WHERE a.tenant_id = ? AND a.course_id = ANY(?::uuid[]) ORDER BY a.added_at ASC, a.user_id ASC`,
    [tenantId, uuidArrayLiteral(courseIds)],
  );
  return rows.map((r) => ({ courseId: str(r.course_id), userId: str(r.user_id) }));
}

/**
 * One page of courses in one statement: `pageSql` selects the page (the course columns as
 * `c.*`-free explicit list, a `cursor_at` text column, ordered and limited), and this joins each
 * row to the head of the version `versionColumn` names and to its author ids.
 */
export async function coursePage(
  db: Statements,
  tenantId: string,
  page: { sql: string; params: unknown[]; orderBy: string },
  versionColumn: 'latest_version_id' | 'published_version_id',
): Promise<CoursePageRow[]> {
  const rows = await db.statement<Row>(
    `SELECT p.*, v.id AS version_id, v.title AS version_title, v.status AS version_status, au.author_ids
       FROM (${page.sql}) p
       LEFT JOIN course_versions v ON v.tenant_id = ? AND v.id = p.${versionColumn}
       LEFT JOIN LATERAL (
         SELECT string_agg(a.user_id::text, ',' ORDER BY a.added_at ASC, a.user_id ASC) AS author_ids
           FROM course_authors a
          WHERE a.tenant_id = ? AND a.course_id = p.id
       ) au ON true
      ORDER BY ${page.orderBy}`,
    [...page.params, tenantId, tenantId],
  );
  return rows.map((r) => ({
    course: parseCourse(r),
    version: r.version_id == null ? null : { id: str(r.version_id), title: str(r.version_title), status: str(r.version_status) as CourseVersionStatus },
    authorIds: uuidList(r.author_ids),
    cursor: str(r.cursor_at),
  }));
}

// ---- Inside a write: the write's EntityManager, its transaction. ----

/** Locks the course row for the rest of the transaction (FOR NO KEY UPDATE: see lockCourse). */
export async function lockCourseRow(em: EntityManager, tenantId: string, courseId: string): Promise<void> {
  await em.execute('select 1 from courses where tenant_id = ? and id = ? for no key update', [tenantId, courseId]);
}

/** The organization's slugs that are `base` or `base-<n>`. */
export async function slugsLike(em: EntityManager, tenantId: string, base: string): Promise<string[]> {
  const rows = await em.execute<Record<'slug', unknown>[]>(
    `select slug from courses where tenant_id = ? and (slug = ? or slug ~ ?)`,
    [tenantId, base, `^${base}-[0-9]+$`],
  );
  return rows.map((r) => str(r.slug));
}

/** Serialises changes to the organization's prerequisite graph for the rest of the transaction (an advisory lock, no table). */
export async function lockPrerequisiteGraph(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`catalog:prerequisites:${tenantId}`]);
}

/** Whether `prerequisiteId` already requires `courseId`, directly or transitively. */
export async function requiresTransitively(em: EntityManager, tenantId: string, prerequisiteId: string, courseId: string): Promise<boolean> {
  const [reach] = await em.execute<Record<'cycle', unknown>[]>(
    `with recursive required(id) as (
           select prerequisite_course_id from course_prerequisites where tenant_id = ? and course_id = ?
           union
           select p.prerequisite_course_id from course_prerequisites p join required r on p.course_id = r.id where p.tenant_id = ?
         )
         select exists (select 1 from required where id = ?) as cycle`,
    [tenantId, prerequisiteId, tenantId, courseId],
  );
  return reach?.cycle === true || reach?.cycle === 't';
}
