// One DataLoader per lookup, created once per request: every relation a resolver follows is
// one batched query per level of the operation, whatever the page size (no N+1). Queries run
// in the request's unit of work, so they see only the caller's organization (ORM filter and
// RLS; raw SQL also names the tenant).
import { DataLoader, decodeCursor, oneLoader, manyLoader, pageSize, toConnection, type Connection, type PageArgs, type UnitOfWork } from '@lectern/kernel';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Enrollment, type EnrollmentStatus } from './modules/enrollment/enrollment.entity.ts';
import { Cohort, Offering } from './modules/offering/offering.entity.ts';
import { RosterImport } from './modules/roster/roster.entity.ts';
import { sqlArray as arr } from '@lectern/kernel/orm';

/** Which rows of a page the caller may see: all, or their own plus those of cohorts they teach. */
export type Viewer = { all: true } | { all: false; userId: string };

export interface PageKey {
  /** The relation: enrollments of a cohort or of a learner, offerings of a course. */
  by: 'cohort' | 'learner' | 'course';
  id: string;
  args: PageArgs & { status?: EnrollmentStatus | null };
}

const PAGE_SQL = {
  cohort: { table: 'enrollments', col: 'cohort_id' },
  learner: { table: 'enrollments', col: 'learner_id' },
  course: { table: 'offerings', col: 'course_id' },
} as const;

type Row = Record<string, unknown> & { seq: string | number };

export function createLoaders(uow: UnitOfWork, tenantId: string | null, viewer: Viewer) {
  const em = () => uow.em();
  const tenant = tenantId ?? '00000000-0000-0000-0000-000000000000';

  /** Pages of many relations in one statement: row_number() per key, cursors are `seq`. */
  const pages = new DataLoader<PageKey, Connection<Offering | Enrollment>, string>(
    async (keys) => {
      const groups = new Map<string, { idx: number[]; keys: PageKey[] }>();
      keys.forEach((k, i) => {
        const g = `${k.by}|${pageSize(k.args)}|${k.args.status ?? ''}`;
        const entry = groups.get(g) ?? { idx: [], keys: [] };
        entry.idx.push(i);
        entry.keys.push(k);
        groups.set(g, entry);
      });
      const out: Connection<Offering | Enrollment>[] = new Array(keys.length);
      const m = await em();
      for (const { idx, keys: ks } of groups.values()) {
        const { by, args } = ks[0]!;
        const limit = pageSize(args);
        const afters = ks.map((k) => Number(decodeCursor(k.args.after, 1)?.[0] ?? 0));
        const rows = limit === 0 ? [] : await pageRows(m, by, ks.map((k) => k.id), afters, limit, args.status ?? null);
        const byKey = new Map<string, Row[]>();
        for (const r of rows) {
          const key = r[PAGE_SQL[by].col] as string;
          (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(r);
        }
        ks.forEach((k, j) => {
          const entity = by === 'course' ? Offering : Enrollment;
          const list = (byKey.get(k.id) ?? []).map((r) => ({ seq: Number(r.seq), node: m.map(entity as typeof Enrollment, stripRow(r)) as Offering | Enrollment }));
          const conn = toConnection(list, limit, (r) => [r.seq], afters[j]! > 0);
          out[idx[j]!] = { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: e.node.node })), nodes: conn.nodes.map((n) => n.node) };
        });
      }
      return out;
    },
    { cacheKeyFn: (k) => JSON.stringify([k.by, k.id, k.args.first ?? null, k.args.after ?? null, k.args.status ?? null]) },
  );

  async function pageRows(m: EntityManager, by: PageKey['by'], ids: string[], afters: number[], limit: number, status: string | null): Promise<Row[]> {
    const { table, col } = PAGE_SQL[by];
    const params: unknown[] = [...ids, ...afters, tenant];
    let filter = '';
    if (table === 'enrollments') {
      if (status) {
        filter += ' and t.status = ?';
        params.push(status);
      }
      if (!viewer.all) {
        filter += ` and (t.learner_id = ? or t.cohort_id in (select id from cohorts where tenant_id = ? and ? = any(instructor_ids)))`;
        params.push(viewer.userId, tenant, viewer.userId);
      }
    }
    params.push(limit + 1);
    return m.execute<Row[]>(
      `select * from (
         select t.*, row_number() over (partition by t.${col} order by t.seq) as page_rn
           from ${table} t join unnest(${arr(ids, 'uuid')}, ${arr(afters, 'bigint')}) as k(key, after) on t.${col} = k.key
          where t.seq > k.after and t.tenant_id = ?${filter}
       ) x where page_rn <= ? order by ${col}, seq`,
      params,
    );
  }

  const loaders = {
    // By id, in one round trip each (uow.statement, rows mapped to entities without a statement).
    offering: oneLoader<string, Offering>(
      async (ids) => (await uow.statement(`select * from offerings where tenant_id = ? and id = any(${arr([...ids], 'uuid')})`, [tenant, ...ids])).map((r) => uow.map(Offering, r)),
      (o) => o.id,
    ),
    cohort: oneLoader<string, Cohort>(
      async (ids) => (await uow.statement(`select * from cohorts where tenant_id = ? and id = any(${arr([...ids], 'uuid')})`, [tenant, ...ids])).map((r) => uow.map(Cohort, r)),
      (c) => c.id,
    ),
    enrollment: oneLoader<string, Enrollment>(
      async (ids) => (await uow.statement(`select * from enrollments where tenant_id = ? and id = any(${arr([...ids], 'uuid')})`, [tenant, ...ids])).map((r) => uow.map(Enrollment, r)),
      (e) => e.id,
    ),
    rosterImport: oneLoader<string, RosterImport>(async (ids) => (await em()).find(RosterImport, { id: { $in: [...ids] } }), (r) => r.id),
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

/** Drops the window column and keeps the table's own. */
function stripRow(r: Row): Record<string, unknown> {
  const { page_rn: _rn, ...rest } = r;
  return rest;
}

export type EnrollmentLoaders = ReturnType<typeof createLoaders>;
