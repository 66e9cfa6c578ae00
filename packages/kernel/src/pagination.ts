// Relay connections (DESIGN rule 7), one shape for every list a UI pages:
//   xs(first: Int, after: String, last: Int, before: String, orderBy: …, filter: …): XConnection!
//   XConnection { edges { cursor node } nodes pageInfo totalCount }
// Cursors are opaque (base64url of the keyset values); a page holds at most 100.
//
// A store reads one page with keyset SQL in the page's direction and one row more than asked:
//   page = pageRequest(args, arity)           // validates first/after/last/before
//   forward  (page.backward = false): WHERE (k) > page.cursor ORDER BY k ASC  LIMIT page.limit + 1
//   backward (page.backward = true):  WHERE (k) < page.cursor ORDER BY k DESC LIMIT page.limit + 1
//   (mirror both for a descending order), then toConnection(rows, page, cursorOf, count).
// toConnection puts a backward page back in the list's order. `totalCount` is a function of
// the connection object: graphql's default field resolver calls it, so the count query runs
// only when a client selects the field (codegen maps each connection type to Connection<T>).
import { badInput } from './errors.ts';
import { uuidArrayLiteral } from './rows.ts';

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** One page to read: how many rows, which way, and from which keyset position (null: from the end it starts at). */
export interface PageRequest {
  limit: number;
  backward: boolean;
  cursor: (string | number)[] | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Number of items in the whole list (all pages, the filter applied); run only when selected. */
  totalCount: () => Promise<number>;
}

function count(value: number | null | undefined, field: 'first' | 'last'): number {
  const n = value ?? DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE) throw badInput(`${field} must be between 0 and ${MAX_PAGE}`, field);
  return n;
}

/** The page `args` ask for; BAD_USER_INPUT for mixed directions, bad sizes or foreign cursors. */
export function pageRequest(args: PageArgs, arity: number): PageRequest {
  const backward = args.last != null || args.before != null;
  if (backward && (args.first != null || args.after != null)) {
    throw badInput('page forward (first/after) or backward (last/before), not both', args.first != null ? 'first' : 'after');
  }
  if (backward) return { limit: count(args.last, 'last'), backward, cursor: decodeCursor(args.before, arity, 'before') };
  return { limit: count(args.first, 'first'), backward, cursor: decodeCursor(args.after, arity, 'after') };
}

export const encodeCursor = (parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');

export function decodeCursor(cursor: string | null | undefined, arity: number, field: 'after' | 'before' = 'after'): (string | number)[] | null {
  if (!cursor) return null;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string' || typeof p === 'number')) {
      return parts;
    }
  } catch {
    // fall through
  }
  throw badInput(`${field} is not a valid cursor`, field);
}

const noCount = () => Promise.resolve(0);

/**
 * Builds a connection from the `limit + 1` rows a store read for `page` (the extra row tells
 * whether more follow in that direction). `totalCount` counts the whole filtered list.
 */
export function toConnection<T>(
  rows: T[],
  page: PageRequest,
  cursorOf: (row: T) => (string | number)[],
  totalCount: () => Promise<number>,
): Connection<T> {
  const more = rows.length > page.limit;
  const slice = rows.slice(0, page.limit);
  const ordered = page.backward ? slice.reverse() : slice;
  const edges = ordered.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return {
    edges,
    nodes: ordered,
    pageInfo: {
      hasNextPage: page.backward ? page.cursor !== null : more,
      hasPreviousPage: page.backward ? more : page.cursor !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}

/** An empty connection (a filter that can match nothing, an id that names nothing). */
export const emptyConnection = <T>(): Connection<T> => toConnection<T>([], { limit: 0, backward: false, cursor: null }, () => [], noCount);

/** Maps a connection's nodes (rows read with their cursor, returned as the objects). */
export function mapConnection<R, T>(c: Connection<R>, fn: (row: R) => T): Connection<T> {
  return { ...c, edges: c.edges.map((e) => ({ cursor: e.cursor, node: fn(e.node) })), nodes: c.nodes.map(fn) };
}

/** A keyset column of a child table's order: its SQL expression and type (for the cursor's cast). */
export interface KeysetColumn {
  expr: string;
  type: string;
}

/** One page of one parent's children: the parent, the page, its direction and an extra condition. */
export interface ChildPage {
  parentId: string;
  page: PageRequest;
  /** The order the SQL reads in (the list's order, turned round for a backward page). */
  ascending: boolean;
  where?: { sql: string; params: readonly unknown[] };
}

/**
 * Many parents' pages of one child table in one statement (a DataLoader batch): a UNION ALL of
 * one keyset subquery per page, each with its own cursor, direction and limit + 1 rows (a page
 * of limit 0 reads nothing). Answers each page's rows in the SQL's order, ready for
 * toConnection; every row also carries its `page_key`. The table is read as `t`, within
 * `tenantId` (a `where` names `t.` columns and brings its own `?` parameters).
 */
export async function childPages<R extends Record<string, unknown>>(
  query: (sql: string, params: unknown[]) => Promise<R[]>,
  from: { table: string; parentColumn: string; tenantId: string; order: readonly KeysetColumn[] },
  pages: readonly ChildPage[],
): Promise<R[][]> {
  const { table, parentColumn, tenantId, order } = from;
  const parts: string[] = [];
  const params: unknown[] = [];
  pages.forEach(({ parentId, page, ascending, where }, i) => {
    if (page.limit === 0) return;
    const keyset = page.cursor ? ` and (${order.map((c) => c.expr).join(', ')}) ${ascending ? '>' : '<'} (${order.map((c) => `?::${c.type}`).join(', ')})` : '';
    parts.push(
      `(select t.*, ?::int as page_key from ${table} t where t.tenant_id = ? and t.${parentColumn} = ?${keyset}${where?.sql ?? ''}
         order by ${order.map((c) => `${c.expr} ${ascending ? 'asc' : 'desc'}`).join(', ')} limit ?)`,
    );
    params.push(i, tenantId, parentId, ...(page.cursor ?? []), ...(where?.params ?? []), page.limit + 1);
  });
  const out = pages.map((): R[] => []);
  // Rows keep their place in the SQL's order (UNION ALL of ordered subqueries, split by page).
  if (parts.length) for (const r of await query(parts.join(' union all '), params)) out[Number(r.page_key)]!.push(r);
  return out;
}

/**
 * How many children each parent has in one child table (the totalCount of childPages' lists),
 * in one statement; `where` as in childPages. Answers a count per parent id, 0 for none.
 */
export async function childCounts(
  query: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>,
  from: { table: string; parentColumn: string; tenantId: string },
  parentIds: readonly string[],
  where?: { sql: string; params: readonly unknown[] },
): Promise<number[]> {
  const { table, parentColumn, tenantId } = from;
  const rows = await query(
    `select t.${parentColumn} as key, count(*)::int as n from ${table} t where t.tenant_id = ? and t.${parentColumn} = any(?::uuid[])${where?.sql ?? ''} group by t.${parentColumn}`,
    [tenantId, uuidArrayLiteral(parentIds), ...(where?.params ?? [])],
  );
  const byParent = new Map(rows.map((r) => [String(r.key), Number(r.n)]));
  return parentIds.map((id) => byParent.get(id) ?? 0);
}
