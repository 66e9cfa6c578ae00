// DESIGN rule 2: raw SQL names tenant_id in every statement on a tenant table, so a raw
// statement has two isolation layers (its own predicate, and RLS) like the ORM has (its filter,
// and RLS). This scans the source of every subgraph and package (scanner: ./tenant-predicate.ts)
// and fails on a statement that touches a tenant table without constraining it by tenant_id
// (a tenant_id = ? predicate, or a join on tenant_id to a table that has one), naming each as
// file:line table. Statements that cross organizations on purpose are listed in CROSS_TENANT.
//
// A tenant table is one with a tenant_id column (as tenantTablesWithoutRls has it), read from a
// database migrated exactly as `pnpm db:migrate` does (scripts/subgraphs.ts), so nothing here
// has to be kept in step with the migrations. Tables without one (identity's organizations and
// users, notifications' organizations registry, enrollment's unfinished_roster_imports,
// schema_migrations) need no predicate.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@lectern/testkit';
import { withClient } from '@lectern/kernel/db';
import { SUBGRAPHS } from './subgraphs.ts';
import { flatSql, OPAQUE, scanSource, untenanted, type Finding, type Scan, type TableRef, type TenantTables } from './tenant-predicate.ts';

const REPO = new URL('..', import.meta.url).pathname;

/**
 * Statements that work across organizations on purpose, each with the reason. Keep this short:
 * anything a tenant's request or job runs names its tenant. An entry matches a finding of
 * `file` on `table` whose statement (lower case, whitespace collapsed) contains `statement`;
 * an entry that matches nothing fails the test, so none outlives its statement.
 */
const CROSS_TENANT: { file: string; table: string; statement: string; why: string }[] = [
  {
    // The relay publishes every organization's events: it connects as lectern_relay
    // (BYPASSRLS, granted only SELECT and UPDATE (published_at) on outbox) and has no tenant.
    file: 'packages/kernel/src/relay.ts',
    table: 'outbox',
    statement: 'from __expr__.outbox o where o.published_at is null',
    why: 'outbox relay: claims the next batch of every organization’s events, in order per aggregate',
  },
  {
    file: 'packages/kernel/src/relay.ts',
    table: 'outbox',
    statement: 'update __expr__.outbox set published_at = now() where seq = any',
    why: 'outbox relay: marks the batch it just published (rows it locked above, by seq)',
  },
  {
    file: 'packages/kernel/src/relay.ts',
    table: 'outbox',
    statement: 'select count(*) as n from __expr__.outbox where published_at is null',
    why: 'outbox relay: the backlog of every organization, for metrics and readiness',
  },
];

interface Root {
  /** Repository-relative source directory. */
  dir: string;
  /** The schema its statements run in (search_path); null for kernel code, which runs in every schema. */
  schema: string | null;
}

const list = (dir: string) => readdirSync(join(REPO, dir)).filter((n) => statSync(join(REPO, dir, n)).isDirectory());
const ROOTS: Root[] = [
  ...list('subgraphs').map((name) => ({ dir: `subgraphs/${name}/src`, schema: name })),
  ...list('packages').map((name) => ({ dir: `packages/${name}/src`, schema: null })),
].filter((r) => statSync(join(REPO, r.dir), { throwIfNoEntry: false })?.isDirectory());

/** The TypeScript files that run SQL: not migrations (DDL, as the owner), not unit tests. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(REPO, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!['migrations', 'node_modules', '__generated__'].includes(entry.name)) out.push(...sources(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

/** schema -> table -> has tenant_id. */
type Catalog = Map<string, Map<string, boolean>>;

function tenantTables(catalog: Catalog, schema: string | null): TenantTables {
  return (ref: TableRef) => {
    const explicit = ref.qualifier !== null && ref.qualifier !== OPAQUE && catalog.has(ref.qualifier) ? ref.qualifier : null;
    const where = explicit ?? schema;
    if (where !== null) return catalog.get(where)?.get(ref.table) === true;
    return [...catalog.values()].some((tables) => tables.get(ref.table) === true);
  };
}

const allowed = (f: Finding) => CROSS_TENANT.some((a) => a.file === f.file && a.table === f.table && flatSql(f.sql).includes(a.statement));
const show = (f: Finding) => `${f.file}:${f.line} ${f.table}: ${f.sql.length > 140 ? `${f.sql.slice(0, 140)}…` : f.sql}`;

describe('the tenant predicate scanner', () => {
  const catalog: Catalog = new Map([
    ['app', new Map([['notes', true], ['tags', true], ['registry', false]])],
    ['other', new Map([['notes', false]])],
  ]);
  const isTenant = tenantTables(catalog, 'app');
  const bad = (sql: string) => untenanted(sql, isTenant).map((r) => r.alias ?? r.table);

  it('flags a statement on a tenant table that relies on RLS alone', () => {
    expect(bad('select id from notes where user_id = ?')).toEqual(['notes']);
    expect(bad('update notes set body = ? where id = ?')).toEqual(['notes']);
    expect(bad('delete from "app".notes where id = ?')).toEqual(['notes']);
    expect(bad(`insert into notes (id, body) values (?, ?)`)).toEqual(['notes']);
    expect(bad(`select * from notes n join tags t on t.note_id = n.id where n.tenant_id = ?`)).toEqual(['t']);
    // Naming tenant_id is not enough: it has to constrain the rows (WHERE, ON, USING, HAVING).
    expect(bad('select tenant_id, id from notes where id = ?')).toEqual(['notes']);
    expect(bad('update notes set body = ? where id = ? returning tenant_id')).toEqual(['notes']);
    expect(bad('insert into notes (id, body) values (?, ?) on conflict (tenant_id, id) do nothing')).toEqual(['notes']);
    // Joined on tenant_id, but neither side tied to a tenant.
    expect(bad('select * from notes n join tags t on t.tenant_id = n.tenant_id and t.note_id = n.id where n.id = ?')).toEqual(['n', 't']);
    expect(bad('select * from notes n join tags t using (tenant_id, note_id) where n.id = ?')).toEqual(['n', 't']);
  });

  it('accepts a statement that ties every tenant table it touches to a tenant', () => {
    expect(bad('select id from notes where tenant_id = ? and user_id = ?')).toEqual([]);
    expect(bad(`insert into notes (id, tenant_id, body) values (?, ?, ?) on conflict do nothing`)).toEqual([]);
    expect(bad(`select * from notes n join tags t on t.tenant_id = n.tenant_id and t.note_id = n.id where n.tenant_id = ?`)).toEqual([]);
    expect(bad(`select * from notes n join tags t using (tenant_id, note_id) where tenant_id = ? and n.user_id = ?`)).toEqual([]);
    expect(bad(`select id from notes where user_id is not distinct from ? and (tenant_id = ? or false) order by id for update`)).toEqual([]);
    expect(bad(`with t as (select ?::uuid as id) select * from notes n where n.tenant_id = (select id from t)`)).toEqual([]);
    // A subquery tied to its outer query's tenant.
    expect(bad(`select * from notes n where n.tenant_id = ? and exists (select 1 from tags t where t.tenant_id = n.tenant_id and t.note_id = n.id)`)).toEqual([]);
    // Not tenant tables: a registry without tenant_id; a table of another schema without it; functions and CTEs.
    expect(bad(`insert into registry (id) values (?) on conflict do nothing; select id from other.notes`)).toEqual([]);
    expect(bad(`with notes as (select 1 as id) select * from notes, unnest(?::uuid[]) as u(id)`)).toEqual([]);
  });

  it('checks each CTE, subquery and UNION branch on its own', () => {
    expect(bad('update notes set read = true where tenant_id = ? and id in (select note_id from tags where tag = ?)')).toEqual(['tags']);
    expect(bad('with t as (select id from notes where user_id = ?) update notes n set read = true from t where n.tenant_id = ? and n.id = t.id')).toEqual(['notes']);
    expect(bad('select id from notes where tenant_id = ? union select note_id from tags where tag = ?')).toEqual(['tags']);
    expect(bad('with t as (select id from notes where tenant_id = ?) update notes n set read = true from t where n.tenant_id = ? and n.id = t.id')).toEqual([]);
    // A string constant or a comment naming tenant_id is not a predicate.
    expect(bad(`select id from notes where body <> 'tenant_id' -- tenant_id`)).toEqual(['notes']);
  });

  it('reads statements out of TypeScript, with the fragments they interpolate', () => {
    const source = [
      `const pending = \`user_id = ? and note_id in (select id from notes where user_id = ?)\`;`,
      'export async function f(em, tenantId, schema) {',
      "  const where = ['n.tenant_id = ?', 'n.user_id = ?'];",
      "  if (Math.random()) where.push('EXISTS (SELECT 1 FROM tags t WHERE t.note_id = n.id)');",
      '  await em.execute(`SELECT n.* FROM notes n WHERE ${where.join(\' AND \')} LIMIT ?`, [tenantId]);',
      '  await em.execute(`update tags set tag = ? where tenant_id = ? and ${pending}`, []);',
      '  await em.execute(`insert into "${schema}".notes (id, tenant_id) values (?, ?)`, []);',
      "  await em.execute('select 1');",
      '}',
    ].join('\n');
    expect(scanSource('f.ts', source, isTenant).findings.map((f) => `${f.line} ${f.table}`)).toEqual(['4 tags', '6 notes']);
  });
});

describe('raw SQL names tenant_id on every tenant table it touches (DESIGN rule 2)', () => {
  let db: TestDatabase;
  const catalog: Catalog = new Map();

  beforeAll(async () => {
    const registered = new Set(SUBGRAPHS.map((s) => s.name));
    const unregistered = ROOTS.filter((r) => r.schema !== null && !registered.has(r.schema)).map((r) => r.dir);
    expect(unregistered, 'subgraphs missing from scripts/subgraphs.ts (their tables are unknown)').toEqual([]);
    db = await createTestDatabase(Object.fromEntries(SUBGRAPHS.map((s) => [s.name, s.migrations])), 'tenantsql');
    await withClient(db.adminUrl, async (c) => {
      const { rows } = await c.query<{ schema: string; table: string; tenant: boolean }>(
        `select c.table_schema as schema, c.table_name as table, bool_or(c.column_name = 'tenant_id') as tenant
           from information_schema.columns c
           join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
          where c.table_schema = any($1::text[])
          group by 1, 2`,
        [SUBGRAPHS.map((s) => s.name)],
      );
      for (const r of rows) {
        if (!catalog.has(r.schema)) catalog.set(r.schema, new Map());
        catalog.get(r.schema)!.set(r.table, r.tenant);
      }
    });
  });

  afterAll(async () => {
    await db?.drop();
  });

  const scans = new Map<string, Scan>();
  const scan = (root: Root): Scan => {
    if (!scans.has(root.dir)) {
      const isTenant = tenantTables(catalog, root.schema);
      const files = sources(root.dir).map((file) => scanSource(file, readFileSync(join(REPO, file), 'utf8'), isTenant));
      scans.set(root.dir, { findings: files.flatMap((f) => f.findings), touched: files.reduce((n, f) => n + f.touched, 0) });
    }
    return scans.get(root.dir)!;
  };

  it('knows the tenant tables of every subgraph schema', () => {
    for (const s of SUBGRAPHS) {
      const tenant = [...(catalog.get(s.name) ?? new Map<string, boolean>())].filter(([, t]) => t).map(([name]) => name);
      expect(tenant, s.name).toContain('outbox');
      expect(tenant.length, s.name).toBeGreaterThan(4);
    }
  });

  it('sees the statements it checks', () => {
    // A scanner that found no statement on a tenant table would pass vacuously.
    const touched = Object.fromEntries(ROOTS.map((root) => [root.dir, scan(root).touched]));
    expect(Object.values(touched).reduce((a, b) => a + b, 0), JSON.stringify(touched)).toBeGreaterThan(50);
    expect(touched['packages/kernel/src'], 'the kernel outbox, consumers and idempotency').toBeGreaterThan(0);
  });

  for (const root of ROOTS) {
    it(`${root.dir}: every statement constrains the tenant tables it touches by tenant_id`, () => {
      expect(scan(root).findings.filter((f) => !allowed(f)).map(show)).toEqual([]);
    });
  }

  it('every cross-tenant allow-list entry still matches a statement', () => {
    const all = ROOTS.flatMap((root) => scan(root).findings);
    const stale = CROSS_TENANT.filter((a) => !all.some((f) => a.file === f.file && a.table === f.table && flatSql(f.sql).includes(a.statement)));
    expect(stale.map((a) => `${a.file} ${a.table}: ${a.statement}`)).toEqual([]);
  });
});
