// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Queries run
// in the request's unit of work, so they see only the caller's organization (ORM filter and
// RLS; raw SQL also names the tenant).
//
// Pages (connections) of many parents at once: one statement per relation and order, a
// UNION ALL of one keyset subquery per parent (each with its own cursor, direction and
// limit + 1 rows, kernel pagination.ts). Their totalCount is another batched loader, run only
// when a client selects it.
import { DataLoader, oneLoader, manyLoader, pageRequest, toConnection, mapConnection, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Enrollment } from './modules/enrollment/enrollment.entity.ts';
import { Cohort, Offering, OfferingVersionChange } from './modules/offering/offering.entity.ts';
import { RosterImport, type RosterImportRowView, type RosterRowStatus } from './modules/roster/roster.entity.ts';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { childCounts, childPages, type PageRequest } from '@lectern/kernel/pagination';

/** Which rows of a page the caller may see: all, or their own plus those of cohorts they teach. */
export type Viewer = { all: true } | { all: false; userId: string };

/** The lists a client pages, by their parent. */
const RELATIONS = {
  cohortEnrollments: { table: 'enrollments', col: 'cohort_id', entity: Enrollment },
  learnerEnrollments: { table: 'enrollments', col: 'learner_id', entity: Enrollment },
  courseOfferings: { table: 'offerings', col: 'course_id', entity: Offering },
  /** The organization's offerings: the parent is the tenant. */
  orgOfferings: { table: 'offerings', col: 'tenant_id', entity: Offering },
  offeringCohorts: { table: 'cohorts', col: 'offering_id', entity: Cohort },
  importRows: { table: 'roster_import_rows', col: 'import_id', entity: null },
} as const;
export type PageRelation = keyof typeof RELATIONS;

type Row = Record<string, unknown>;
const iso = (v: unknown) => (v instanceof Date ? v : new Date(String(v))).toISOString();

/** Keyset orders: the columns compared (all in the same direction), and a row's cursor. */
const ORDERS = {
  seq: { cols: [{ expr: 't.seq', type: 'bigint' }], cursor: (r: Row) => [Number(r.seq)] },
  startsAt: { cols: [{ expr: 't.starts_at', type: 'timestamptz' }, { expr: 't.seq', type: 'bigint' }], cursor: (r: Row) => [iso(r.starts_at), Number(r.seq)] },
  row: { cols: [{ expr: 't.row_number', type: 'int' }], cursor: (r: Row) => [Number(r.row_number)] },
} as const;
export type PageOrder = keyof typeof ORDERS;

export interface PageKey {
  rel: PageRelation;
  /** The parent (a cohort, learner, course, tenant, offering or import id). */
  id: string;
  args: PageArgs;
  order?: PageOrder;
  direction?: 'ASC' | 'DESC';
  /** Only rows in these statuses (enrollments, import rows); empty or absent: any. */
  statuses?: readonly string[] | null;
}

type Node = Offering | Cohort | Enrollment | RosterImportRowView;

/** A roster_import_rows row as the API shows it. */
export const rowView = (r: Row): RosterImportRowView => ({
  importId: String(r.import_id),
  rowNumber: Number(r.row_number),
  identifier: String(r.identifier),
  kind: r.kind as 'EMAIL' | 'USER_ID',
  status: r.status as RosterRowStatus,
  reason: r.reason == null ? null : String(r.reason),
  enrollmentId: r.enrollment_id == null ? null : String(r.enrollment_id),
});

export function createLoaders(uow: UnitOfWork, tenantId: string | null, viewer: Viewer) {
  const em = () => uow.em();
  const tenant = tenantId ?? '00000000-0000-0000-0000-000000000000';

  /** The WHERE conditions every page and count of `rel` shares (filter and visibility), with their parameters. */
  function conditions(rel: PageRelation, statuses: readonly string[] | null | undefined): { sql: string; params: unknown[] } {
    const { table } = RELATIONS[rel];
    let sql = '';
    const params: unknown[] = [];
    if (statuses?.length) {
      sql += ` and t.status = any(${arr(statuses, 'text')})`;
      params.push(...statuses);
    }
    if (table === 'enrollments' && !viewer.all) {
      sql += ` and (t.learner_id = ? or t.cohort_id in (select id from cohorts where tenant_id = ? and ? = any(instructor_ids)))`;
      params.push(viewer.userId, tenant, viewer.userId);
    }
    return { sql, params };
  }

  const toNode = (m: EntityManager, rel: PageRelation, r: Row): Node => {
    const entity = RELATIONS[rel].entity;
    const { page_key: _k, ...columns } = r;
    return entity ? (m.map(entity as typeof Offering, columns) as Node) : rowView(columns);
  };

  const counts = new DataLoader<PageKey, number, string>(
    async (keys) => {
      const groups = new Map<string, number[]>();
      keys.forEach((k, i) => {
        const g = JSON.stringify([k.rel, k.statuses ?? []]);
        (groups.get(g) ?? groups.set(g, []).get(g)!).push(i);
      });
      const out = new Array<number>(keys.length).fill(0);
      const m = await em();
      for (const idx of groups.values()) {
        const { rel, statuses } = keys[idx[0]!]!;
        const { table, col } = RELATIONS[rel];
        const n = await childCounts((sql, params) => m.execute<Row[]>(sql, params), { table, parentColumn: col, tenantId: tenant }, idx.map((i) => keys[i]!.id), conditions(rel, statuses));
        idx.forEach((i, k) => (out[i] = n[k]!));
      }
      return out;
    },
    { cacheKeyFn: (k) => JSON.stringify([k.rel, k.id, k.statuses ?? []]) },
  );

  const pages = new DataLoader<PageKey, Connection<Node>, string>(
    async (keys) => {
      // Validated before anything runs: a bad cursor fails its own field only.
      const requests = keys.map((k) => {
        try {
          return pageRequest(k.args, ORDERS[k.order ?? 'seq'].cols.length);
        } catch (err) {
          return err as Error;
        }
      });
      const groups = new Map<string, number[]>();
      keys.forEach((k, i) => {
        if (requests[i] instanceof Error) return;
        const g = `${k.rel}|${k.order ?? 'seq'}`;
        (groups.get(g) ?? groups.set(g, []).get(g)!).push(i);
      });
      const out: (Connection<Node> | Error)[] = requests.map((r) => (r instanceof Error ? r : (null as unknown as Connection<Node>)));
      const m = await em();
      for (const idx of groups.values()) {
        const { rel, order = 'seq' } = keys[idx[0]!]!;
        const { table, col } = RELATIONS[rel];
        const { cols, cursor } = ORDERS[order];
        const asked = idx.map((i) => {
          const k = keys[i]!;
          const page = requests[i] as PageRequest;
          return { parentId: k.id, page, ascending: (k.direction ?? 'ASC') === 'ASC' !== page.backward, where: conditions(rel, k.statuses) };
        });
        const rows = await childPages((sql, params) => m.execute<Row[]>(sql, params), { table, parentColumn: col, tenantId: tenant, order: cols }, asked);
        idx.forEach((i, n) => {
          const k = keys[i]!;
          const conn = toConnection(rows[n]!, asked[n]!.page, cursor, () => counts.load({ rel: k.rel, id: k.id, args: {}, statuses: k.statuses }));
          out[i] = mapConnection(conn, (r) => toNode(m, rel, r));
        });
      }
      return out;
    },
    { cacheKeyFn: (k) => JSON.stringify([k.rel, k.id, k.args.first ?? null, k.args.after ?? null, k.args.last ?? null, k.args.before ?? null, k.order ?? 'seq', k.direction ?? 'ASC', k.statuses ?? []]) },
  );

  const byIds = <T extends object>(table: string, entity: new (...a: never[]) => T) => async (ids: readonly string[]) =>
    (await uow.statement(`select * from ${table} where tenant_id = ? and id = any(${arr([...ids], 'uuid')})`, [tenant, ...ids])).map((r) => uow.map(entity, r));

  const loaders = {
    // By id, in one round trip each (uow.statement, rows mapped to entities without a statement).
    offering: oneLoader<string, Offering>(byIds('offerings', Offering), (o) => o.id),
    cohort: oneLoader<string, Cohort>(byIds('cohorts', Cohort), (c) => c.id),
    enrollment: oneLoader<string, Enrollment>(byIds('enrollments', Enrollment), (e) => e.id),
    versionChange: oneLoader<string, OfferingVersionChange>(byIds('offering_version_changes', OfferingVersionChange), (v) => v.id),
    rosterImport: oneLoader<string, RosterImport>(async (ids) => (await em()).find(RosterImport, { id: { $in: [...ids] } }), (r) => r.id),
    /** Rows by `${importId}:${rowNumber}`. */
    rosterImportRow: oneLoader<string, RosterImportRowView>(async (keys) => {
      const importIds = keys.map((k) => k.split(':')[0]!);
      const numbers = keys.map((k) => Number(k.split(':')[1]));
      const rows = await (await em()).execute<Row[]>(
        `select t.* from roster_import_rows t join unnest(${arr(importIds, 'uuid')}, ${arr(numbers, 'int')}) as k(import_id, row_number)
            on t.import_id = k.import_id and t.row_number = k.row_number
          where t.tenant_id = ?`,
        [...importIds, ...numbers, tenant],
      );
      return rows.map(rowView);
    }, (r) => `${r.importId}:${r.rowNumber}`),
    /** An offering's version changes, oldest first. */
    versionChanges: manyLoader<string, OfferingVersionChange>(
      async (ids) => (await em()).find(OfferingVersionChange, { offeringId: { $in: [...ids] } }, { orderBy: { changedAt: 'asc', id: 'asc' } }),
      (v) => v.offeringId,
    ),
    /** Every cohort of offerings (who teaches what: versionChanges' visibility). */
    cohortsByOffering: manyLoader<string, Cohort>(
      async (ids) => (await em()).find(Cohort, { offeringId: { $in: [...ids] } }, { orderBy: { createdAt: 'asc', id: 'asc' } }),
      (c) => c.offeringId,
    ),
    /** 1-based place of WAITLISTED enrollments in their cohort's waitlist. */
    waitlistPosition: oneLoader<string, { id: string; position: number }>(async (ids) => {
      const rows = await (await em()).execute<{ id: string; position: string }[]>(
        `select id, position from (
           select id, row_number() over (partition by cohort_id order by waitlist_seq) as position
             from enrollments
            where tenant_id = ? and status = 'WAITLISTED' and cohort_id in (select cohort_id from enrollments where tenant_id = ? and id = any(${arr([...ids], 'uuid')}))
         ) w where id = any(${arr([...ids], 'uuid')})`,
        [tenant, tenant, ...ids, ...ids],
      );
      return rows.map((r) => ({ id: r.id, position: Number(r.position) }));
    }, (r) => r.id),
    waitlistCount: oneLoader<string, { cohortId: string; n: number }>(async (ids) => {
      const rows = await (await em()).execute<{ cohort_id: string; n: string }[]>(
        `select cohort_id, count(*) as n from enrollments where tenant_id = ? and status = 'WAITLISTED' and cohort_id = any(${arr([...ids], 'uuid')}) group by cohort_id`,
        [tenant, ...ids],
      );
      return rows.map((r) => ({ cohortId: r.cohort_id, n: Number(r.n) }));
    }, (r) => r.cohortId),
    pages,
    counts,
  };
  const all: DataLoader<never, unknown, unknown>[] = Object.values(loaders) as DataLoader<never, unknown, unknown>[];
  return {
    ...loaders,
    /** Forgets everything loaded so far: a mutation's payload must show the state it left. */
    clearAll() {
      for (const loader of all) loader.clearAll();
    },
  };
}

export type EnrollmentLoaders = ReturnType<typeof createLoaders>;
