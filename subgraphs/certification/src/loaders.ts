// One DataLoader per lookup, created once per request: every relation a resolver follows is one
// batched query per level of the operation, whatever the page size (no N+1). Queries run in the
// request's unit of work (RLS) and name the tenant themselves (raw SQL).
//
// Visibility is decided in the statement: readers (ORG_ADMIN, certification API keys) see every
// certificate of the organization; anyone else only their own.
import {
  childCounts, childPages, DataLoader, emptyConnection, oneLoader, pageRequest, toConnection, type Connection, type PageArgs, type PageRequest, type UnitOfWork,
} from '@lectern/kernel';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import type { Viewer } from './access.ts';
import { certificateRow, ruleRow, type CertificateView, type RuleView } from './views.ts';

const NO_ONE = '00000000-0000-0000-0000-000000000000';
type Row = Record<string, unknown>;

/** SQL: the caller (parameters: a `reader` flag, their user id) may see certificate row `t`. */
const VISIBLE_SQL = (t: string) => `(?::boolean or ${t}.learner_id = ?::uuid)`;

const ORDER = [{ expr: 't.seq', type: 'bigint' }] as const;
const cursorOf = (c: CertificateView) => [c.seq];

export function createLoaders(uow: UnitOfWork, tenantId: string | null, viewer: Viewer) {
  const tenant = tenantId ?? NO_ONE;
  const user = viewer.userId ?? NO_ONE;
  const statement = (sql: string, params: unknown[]) => uow.statement<Row>(sql, params);
  const visible = { sql: ` and ${VISIBLE_SQL('t')}`, params: [viewer.reader, user] };

  const learnerCounts = new DataLoader<string, number>(async (learnerIds) => childCounts(statement, { table: 'certificates', parentColumn: 'learner_id', tenantId: tenant }, learnerIds, visible));

  return {
    certificate: oneLoader<string, CertificateView>(
      async (keys) =>
        (await statement(`select t.* from certificates t where t.tenant_id = ? and t.id = any(?::uuid[]) and ${VISIBLE_SQL('t')}`, [tenant, uuidArrayLiteral(keys), viewer.reader, user])).map(
          certificateRow,
        ),
      (c) => c.id,
    ),
    /** A course's rule (every member may see it); null when the course has none. */
    rule: oneLoader<string, RuleView>(
      async (keys) => (await statement(`select * from certificate_rules where tenant_id = ? and course_id = any(?::uuid[])`, [tenant, uuidArrayLiteral(keys)])).map(ruleRow),
      (r) => r.courseId,
    ),
    /** A person's certificates the caller may see, newest first: many people's pages in one statement. */
    learnerCertificates: new DataLoader<{ learnerId: string; args: PageArgs }, Connection<CertificateView>, string>(
      async (keys) => {
        const out: (Connection<CertificateView> | Error)[] = [];
        const asked: { parentId: string; page: PageRequest; ascending: boolean; where: typeof visible }[] = [];
        const at: number[] = [];
        keys.forEach((k, i) => {
          try {
            const page = pageRequest(k.args, 1);
            asked.push({ parentId: k.learnerId, page, ascending: page.backward, where: visible });
            at.push(i);
            out.push(emptyConnection());
          } catch (err) {
            out.push(err as Error);
          }
        });
        const rows = await childPages(statement, { table: 'certificates', parentColumn: 'learner_id', tenantId: tenant, order: ORDER }, asked);
        asked.forEach((a, n) => {
          out[at[n]!] = toConnection(rows[n]!.map(certificateRow), a.page, cursorOf, () => learnerCounts.load(a.parentId));
        });
        return out;
      },
      { cacheKeyFn: (k) => JSON.stringify([k.learnerId, k.args.first ?? null, k.args.after ?? null, k.args.last ?? null, k.args.before ?? null]) },
    ),
  };
}
export type CertificationLoaders = ReturnType<typeof createLoaders>;

export interface CertificateFilter {
  courseId: string | null;
  learnerId: string | null;
  status: 'PENDING' | 'ISSUED' | 'FAILED' | 'REVOKED' | 'EXPIRED' | null;
}

const STATUS_SQL: Record<NonNullable<CertificateFilter['status']>, string> = {
  PENDING: `t.status = 'PENDING'`,
  FAILED: `t.status = 'FAILED'`,
  ISSUED: `t.status = 'ISSUED' and t.revoked_at is null and (t.valid_until is null or t.valid_until > now())`,
  REVOKED: `t.status = 'ISSUED' and t.revoked_at is not null`,
  EXPIRED: `t.status = 'ISSUED' and t.revoked_at is null and t.valid_until <= now()`,
};

/** A page of the certificates the caller may see (readers: the organization's; others: their own), newest first. */
export async function certificatePage(uow: UnitOfWork, tenantId: string, viewer: Viewer, args: PageArgs, filter: CertificateFilter): Promise<Connection<CertificateView>> {
  const page = pageRequest(args, 1);
  if (page.limit === 0) return emptyConnection();
  const where: string[] = [`t.tenant_id = ?`, VISIBLE_SQL('t')];
  const params: unknown[] = [tenantId, viewer.reader, viewer.userId ?? NO_ONE];
  if (filter.courseId) {
    where.push('t.course_id = ?');
    params.push(filter.courseId);
  }
  if (filter.learnerId) {
    where.push('t.learner_id = ?');
    params.push(filter.learnerId);
  }
  if (filter.status) where.push(STATUS_SQL[filter.status]);
  const keyset = page.cursor ? ` and t.seq ${page.backward ? '>' : '<'} ?::bigint` : '';
  const rows = await uow.statement(`select t.* from certificates t where ${where.join(' and ')}${keyset} order by t.seq ${page.backward ? 'asc' : 'desc'} limit ?`, [
    ...params,
    ...(page.cursor ?? []),
    page.limit + 1,
  ]);
  return toConnection(rows.map(certificateRow), page, cursorOf, async () => {
    const [c] = await uow.statement<{ n: string }>(`select count(*) as n from certificates t where ${where.join(' and ')}`, params);
    return Number(c?.n ?? 0);
  });
}
