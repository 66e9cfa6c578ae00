// The scanner behind scripts/tenant-predicate.test.ts (DESIGN rule 2: raw SQL names tenant_id in
// every statement on a tenant table, so it has two isolation layers, the predicate and RLS).
//
// 1. extractSql: every string and template literal of a TypeScript file (parsed with the
//    compiler, not grepped), with `${name}` of a const in scope inlined (a shared WHERE fragment)
//    and `${where.join(' AND ')}` of a const array inlined as its initial elements (the ones a
//    dynamic filter always has; conditional pushes are scanned on their own). Anything else
//    interpolated becomes an opaque `__expr__` (`"${schema}".outbox` still names outbox).
// 2. untenanted: splits a statement into its query scopes (the statement, each CTE body and
//    subquery, each branch of a UNION), finds the tables each scope reads or writes (FROM, JOIN,
//    INTO, UPDATE, USING, TRUNCATE; CTE names and functions are not tables) and reports a tenant
//    table the scope does not constrain to a tenant: its row conditions (WHERE, JOIN … ON /
//    USING, HAVING) must tie its tenant_id to a value, or join it on tenant_id to a table that
//    is tied; an INSERT's target needs tenant_id in its column list. See `untenanted`.
import ts from 'typescript';

export interface SqlText {
  line: number;
  /** The resolved statement (or fragment) text. */
  text: string;
}

export interface TableRef {
  table: string;
  /** The schema qualifier as written (`__expr__` when interpolated), or null. */
  qualifier: string | null;
  alias: string | null;
}

export interface Finding {
  file: string;
  line: number;
  table: string;
  /** The statement, whitespace collapsed. */
  sql: string;
}

/** Decides whether a table reference names a tenant table (one with a tenant_id column). */
export type TenantTables = (ref: TableRef) => boolean;

export const OPAQUE = '__expr__';
const SQL_VERB = /\b(select|insert|update|delete|truncate|merge)\b/i;

// ---------------------------------------------------------------------------------------------
// 1. Literals of a TypeScript source, resolved.

type Literal = ts.StringLiteral | ts.NoSubstitutionTemplateLiteral | ts.TemplateExpression;

const isLiteral = (n: ts.Node): n is Literal => ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n);

function unwrap(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression;
  return e;
}

/** The initializer of the `const name` visible from `from` (nearest enclosing block first). */
function constInitializer(name: string, from: ts.Node): ts.Expression | undefined {
  for (let scope: ts.Node | undefined = from.parent; scope; scope = scope.parent) {
    const statements = (scope as { statements?: ts.NodeArray<ts.Statement> }).statements;
    if (!statements) continue;
    for (const st of statements) {
      if (!ts.isVariableStatement(st) || !(st.declarationList.flags & ts.NodeFlags.Const)) continue;
      for (const d of st.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.name.text === name && d.initializer) return unwrap(d.initializer);
      }
    }
  }
  return undefined;
}

class Resolver {
  /** Literals inlined into another literal: scanned as part of it, not on their own. */
  readonly inlined = new Set<ts.Node>();

  literal(node: Literal, depth = 0): string {
    if (!ts.isTemplateExpression(node)) return node.text;
    let text = node.head.text;
    for (const span of node.templateSpans) text += this.expr(span.expression, depth + 1) + span.literal.text;
    return text;
  }

  expr(e: ts.Expression, depth: number): string {
    e = unwrap(e);
    if (depth > 8) return OPAQUE;
    if (isLiteral(e)) {
      this.inlined.add(e);
      return this.literal(e, depth);
    }
    if (ts.isIdentifier(e)) {
      const init = constInitializer(e.text, e);
      return init && isLiteral(init) ? this.expr(init, depth + 1) : OPAQUE;
    }
    // `${where.join(' AND ')}` of `const where = ['t.tenant_id = ?', …]`: the initial elements.
    if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'join' && ts.isIdentifier(e.expression.expression)) {
      const init = constInitializer(e.expression.expression.text, e);
      const sepNode = e.arguments[0] ? unwrap(e.arguments[0]) : undefined;
      const sep = sepNode === undefined ? ',' : isLiteral(sepNode) ? this.literal(sepNode, depth + 1) : OPAQUE;
      if (init && ts.isArrayLiteralExpression(init)) {
        return init.elements.map((el) => (ts.isSpreadElement(el) ? OPAQUE : this.expr(el, depth + 1))).join(sep);
      }
    }
    return OPAQUE;
  }
}

/** Every literal of `source` that reads like SQL, with what it interpolates resolved where it can be. */
export function extractSql(fileName: string, source: string): SqlText[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Literal[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n) || ts.isLiteralTypeNode(n)) return;
    if (isLiteral(n)) found.push(n);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  const resolver = new Resolver();
  const texts = found.map((node) => ({ node, text: resolver.literal(node) }));
  return texts
    .filter(({ node, text }) => !resolver.inlined.has(node) && SQL_VERB.test(text))
    .map(({ node, text }) => ({ line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, text }));
}

// ---------------------------------------------------------------------------------------------
// 2. SQL: scopes, table references, tenant predicates.

/** Lower case, comments and string constants blanked, identifier quotes dropped. */
export function normalizeSql(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length; ) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      out += sql.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'") {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      const stop = Math.min(j + 1, sql.length);
      out += "'" + sql.slice(i + 1, stop - 1).replace(/[^\n]/g, ' ') + (stop > i + 1 ? "'" : '');
      i = stop;
    } else if (c === '"') {
      i++;
    } else {
      out += c.toLowerCase();
      i++;
    }
  }
  return out;
}

interface Group {
  start: number;
  end: number;
  query: boolean;
  children: Group[];
}

const QUERY_START = /^\s*(select|with|insert|update|delete|values)\b/;

function groups(sql: string): Group {
  const root: Group = { start: 0, end: sql.length, query: true, children: [] };
  const stack: Group[] = [root];
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] === '(') {
      const g: Group = { start: i + 1, end: sql.length, query: false, children: [] };
      stack.at(-1)!.children.push(g);
      stack.push(g);
    } else if (sql[i] === ')' && stack.length > 1) {
      const g = stack.pop()!;
      g.end = i;
      g.query = QUERY_START.test(sql.slice(g.start, g.end));
    }
  }
  return root;
}

/** Each query scope's own text: its span with every nested query scope blanked out. */
function scopes(sql: string): string[] {
  const result: string[] = [];
  const walk = (scope: Group) => {
    let own = sql.slice(scope.start, scope.end);
    const blank = (g: Group) => {
      for (const child of g.children) {
        if (child.query) {
          own = own.slice(0, child.start - scope.start) + ' '.repeat(child.end - child.start) + own.slice(child.end - scope.start);
          walk(child);
        } else blank(child);
      }
    };
    blank(scope);
    result.push(own);
  };
  walk(groups(sql));
  return result;
}

const NOT_ALIAS = new Set(
  (
    'where on join inner left right full cross natural lateral using set group order limit offset returning for union ' +
    'intersect except values select as and or window having default do with tablesample fetch into from only'
  ).split(' '),
);
const NAME = String.raw`[a-z_][\w$]*`;
const TABLE_KEYWORD = new RegExp(String.raw`\b(from|join|into|update|using|truncate(?:\s+table)?)\s+(?:only\s+)?((?:${NAME}\.)?${NAME})`, 'g');

function cteNames(sql: string): Set<string> {
  const names = new Set<string>();
  const re = new RegExp(String.raw`(?:\bwith(?:\s+recursive)?|,)\s*(${NAME})\s*(?:\([^()]*\))?\s+as\s+(?:not\s+)?(?:materialized\s+)?\(`, 'g');
  for (const m of sql.matchAll(re)) names.add(m[1]!);
  return names;
}

function parseRef(written: string): { qualifier: string | null; table: string } {
  const dot = written.indexOf('.');
  return dot === -1 ? { qualifier: null, table: written } : { qualifier: written.slice(0, dot), table: written.slice(dot + 1) };
}

/** The tables one scope (without its nested scopes) reads or writes. */
function tableRefs(part: string, ctes: Set<string>): (TableRef & { kw: string })[] {
  const refs: (TableRef & { kw: string })[] = [];
  for (const m of part.matchAll(TABLE_KEYWORD)) {
    const kw = m[1]!.split(/\s/)[0]!;
    let rest = part.slice(m.index + m[0].length);
    // `from unnest(…)`, `join lateral (…)`: a function or a subquery, not a table.
    if (kw !== 'into' && /^\s*\(/.test(rest)) continue;
    let written = m[2]!;
    for (;;) {
      const alias = /^\s+(?:as\s+)?([a-z_][\w$]*)/.exec(rest);
      const ref = parseRef(written);
      const aliasName = alias && !NOT_ALIAS.has(alias[1]!) ? alias[1]! : null;
      if (!NOT_ALIAS.has(ref.table) && !(ref.qualifier === null && ctes.has(ref.table))) refs.push({ ...ref, alias: aliasName, kw });
      if (aliasName) rest = rest.slice(alias![0].length);
      // `from a x, b y`: more tables of the same FROM list.
      const more = kw === 'from' ? new RegExp(String.raw`^\s*,\s*(?:only\s+)?((?:${NAME}\.)?${NAME})(?!\s*\()`).exec(rest) : null;
      if (!more) break;
      written = more[1]!;
      rest = rest.slice(more[0].length);
    }
  }
  return refs;
}

/** `text` with the contents of every parenthesis blanked (what is at the scope's own level). */
function topLevel(text: string): string {
  let depth = 0;
  let out = '';
  for (const c of text) {
    if (c === ')') depth = Math.max(0, depth - 1);
    out += depth > 0 ? ' ' : c;
    if (c === '(') depth++;
  }
  return out;
}

// Clauses of a scope: those whose text constrains rows (WHERE, HAVING, JOIN … ON / USING), and
// those that end one. `is distinct from` is an operator, `on conflict` not a join condition.
const CLAUSE = new RegExp(
  [
    String.raw`\b(where|having|using|on)\b(?!\s+conflict\b)`,
    String.raw`\b(?:group\s+by|order\s+by|limit|offset|returning|for\s+(?:no\s+key\s+)?update|for\s+(?:key\s+)?share|window|join|set|values|select|on\s+conflict|do)\b`,
    String.raw`(?<!\bdistinct\s+)\bfrom\b`,
  ].join('|'),
  'g',
);

/** A scope's row conditions: the text of each WHERE, HAVING, ON and USING clause. */
function conditions(part: string): { kw: string; text: string }[] {
  const marks = [...topLevel(part).matchAll(CLAUSE)];
  return marks.flatMap((m, i) => (m[1] ? [{ kw: m[1], text: part.slice(m.index + m[0].length, marks[i + 1]?.index ?? part.length) }] : []));
}

const TENANT_COLUMN = /(?<![\w$.])(?:([a-z_][\w$]*)\.)?tenant_id\b/g;
const TENANT_JOIN = /(?<![\w$.])(?:([a-z_][\w$]*)\.)?tenant_id\s*=\s*(?:([a-z_][\w$]*)\.)?tenant_id\b/g;

/**
 * The references to tenant tables in `sql` that their scope does not constrain to a tenant.
 * Within a scope (the statement, a CTE body, a subquery, a UNION branch), a tenant table is
 * constrained when its row conditions (WHERE, ON, USING, HAVING) tie its tenant_id to a value
 * (`t.tenant_id = ?`, `= (select id from t)`, `is not distinct from ?`, or an outer query's
 * `o.tenant_id`), or join it on tenant_id (`a.tenant_id = b.tenant_id`, `using (tenant_id, …)`)
 * to a table that is; an INSERT's target, by tenant_id in its column list. A select list or
 * RETURNING naming tenant_id constrains nothing, and two tables joined on tenant_id with neither
 * tied to a value are both reported.
 */
export function untenanted(sql: string, isTenant: TenantTables): TableRef[] {
  const text = normalizeSql(sql);
  const ctes = cteNames(text);
  const missing: TableRef[] = [];
  for (const scope of scopes(text)) {
    for (const part of scope.split(/\b(?:union(?:\s+all)?|intersect|except)\b/)) {
      const refs = tableRefs(part, ctes).filter(isTenant);
      if (refs.length === 0) continue;
      // Union-find over the scope's tenant tables, with whether each group is tied to a tenant.
      const parent = refs.map((_, i) => i);
      const tied = refs.map(() => false);
      const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
      const join = (a: number, b: number) => {
        const [ra, rb] = [root(a), root(b)];
        parent[ra] = rb;
        tied[rb] = tied[rb]! || tied[ra]!;
      };
      const tie = (i: number) => void (tied[root(i)] = true);
      const named = (q: string | undefined) => (q === undefined ? -1 : refs.findIndex((r) => (r.alias ?? r.table) === q || r.table === q));

      const insert = new RegExp(String.raw`\binsert\s+into\s+((?:${NAME}\.)?${NAME})(?:\s+as\s+${NAME})?\s*\(([^()]*)\)`).exec(part);
      const target = insert ? refs.findIndex((r) => r.kw === 'into' && r.table === parseRef(insert[1]!).table) : -1;
      if (target !== -1 && /\btenant_id\b/.test(insert![2]!)) tie(target);

      for (const { kw, text: clause } of conditions(part)) {
        const pairs: [number, number][] = [];
        for (const m of clause.matchAll(TENANT_JOIN)) {
          pairs.push([m.index, m.index + m[0].length]);
          const [a, b] = [named(m[1]), named(m[2])];
          if (a !== -1 && b !== -1) join(a, b);
          else if (m[1] === undefined || m[2] === undefined) refs.forEach((_, i) => tie(i));
          else for (const i of [a, b]) if (i !== -1) tie(i); // the other side is an outer query's or a CTE's
        }
        for (const m of clause.matchAll(TENANT_COLUMN)) {
          if (pairs.some(([from, to]) => m.index >= from && m.index < to)) continue;
          if (m[1] !== undefined) {
            const i = named(m[1]);
            if (i !== -1) tie(i);
          } else if (kw === 'using') refs.forEach((_, i) => join(i, 0)); // join … using (tenant_id, …)
          else refs.forEach((_, i) => tie(i)); // unqualified: the scope's one tenant table (else ambiguous)
        }
      }
      refs.forEach((r, i) => {
        if (!tied[root(i)]) missing.push({ table: r.table, qualifier: r.qualifier, alias: r.alias });
      });
    }
  }
  return missing;
}

/** A statement as the allow-list matches it: normalized (lower case, no quotes or constants), one line. */
export const flatSql = (sql: string) => normalizeSql(sql).replace(/\s+/g, ' ').trim();

export interface Scan {
  /** Statements touching a tenant table they do not constrain by tenant_id, one per table. */
  findings: Finding[];
  /** References to tenant tables seen (a scan that sees none proves nothing). */
  touched: number;
}

/** Scans one TypeScript file. */
export function scanSource(file: string, source: string, isTenant: TenantTables): Scan {
  const scan: Scan = { findings: [], touched: 0 };
  for (const { line, text } of extractSql(file, source)) {
    const normalized = normalizeSql(text);
    const ctes = cteNames(normalized);
    for (const scope of scopes(normalized)) scan.touched += tableRefs(scope, ctes).filter(isTenant).length;
    const tables = new Set(untenanted(text, isTenant).map((r) => r.table));
    for (const table of tables) scan.findings.push({ file, line, table, sql: text.replace(/\s+/g, ' ').trim() });
  }
  return scan;
}
