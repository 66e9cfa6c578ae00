// deploy/grafana/lectern-golden-signals.json only shows what the processes export: every metric
// and label its PromQL names must be one the code registers. The list comes from the code itself:
// the registries of the kernel's createMetrics (Node's default metrics included) and the gateway's
// subscription metrics, plus every other `new client.<Type>({ name: ... })` in the sources (the
// worker's queue, outbox and job metrics are built inside startWorker, where no test can reach
// them without Redis and PostgreSQL). The scanner is checked against the registries it can see.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '@lectern/kernel/metrics';
import { subscriptionMetrics } from '../gateway/src/subscriptions/metrics.ts';

const root = new URL('..', import.meta.url).pathname;
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/lectern-golden-signals.json'), 'utf8'));

interface MetricDef {
  type: string;
  labels: Set<string>;
}
/** Labels Prometheus adds to every scraped series; `service` is every registry's default label. */
const TARGET_LABELS = ['job', 'instance', 'service'];

// --- what the code registers ----------------------------------------------------------------

function fromRegistry(registry: ReturnType<typeof createMetrics>['registry']): Map<string, MetricDef> {
  const out = new Map<string, MetricDef>();
  for (const m of registry.getMetricsAsArray()) {
    out.set(m.name, { type: String(m.type), labels: new Set((m as unknown as { labelNames?: string[] }).labelNames ?? []) });
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', '__generated__', 'test'].includes(e.name) ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The text from `open` (an opening brace) to its closing brace, skipping strings and comments. */
function balanced(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i);
      if (i < 0) break;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces from offset ${open}`);
}

const CONSTRUCTOR = /new\s+(?:\w+\.)?(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\(\s*\{/g;

/** Every prom-client metric constructed in the sources: name, type and label names. */
function fromSources(): { metrics: Map<string, MetricDef & { file: string }>; unreadable: string[] } {
  const metrics = new Map<string, MetricDef & { file: string }>();
  const unreadable: string[] = [];
  const dirs = ['gateway/src', 'packages', 'subgraphs'].map((d) => join(root, d));
  for (const file of dirs.flatMap(sourceFiles)) {
    const text = readFileSync(file, 'utf8');
    if (!/from 'prom-client'/.test(text)) continue;
    for (const m of text.matchAll(CONSTRUCTOR)) {
      const body = balanced(text, m.index + m[0].length - 1);
      const name = /^\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/.exec(body)?.[1];
      if (!name) {
        unreadable.push(`${relative(root, file)}: ${body.slice(0, 80)}`);
        continue;
      }
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      metrics.set(name, { type: m[1]!.toLowerCase(), labels: new Set([...labels.matchAll(/'([^']+)'/g)].map((l) => l[1]!)), file: relative(root, file) });
    }
  }
  return { metrics, unreadable };
}

const kernel = createMetrics('dashboard-test');
subscriptionMetrics(kernel);
const registered = fromRegistry(kernel.registry);
const scanned = fromSources();
const known = new Map<string, MetricDef>([...scanned.metrics, ...registered]);

/** Series names as Prometheus exposes them (a histogram is _bucket, _sum and _count), with their labels. */
const series = new Map<string, Set<string>>();
for (const [name, def] of known) {
  const labels = new Set([...def.labels, ...TARGET_LABELS]);
  if (def.type === 'histogram') {
    series.set(`${name}_bucket`, new Set([...labels, 'le']));
    series.set(`${name}_sum`, labels);
    series.set(`${name}_count`, labels);
  } else if (def.type === 'summary') {
    series.set(name, new Set([...labels, 'quantile']));
    series.set(`${name}_sum`, labels);
    series.set(`${name}_count`, labels);
  } else series.set(name, labels);
}

// --- what the dashboard asks -----------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Grafana's JSON model
type Panel = any;
const allPanels = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const panels = allPanels(dashboard.panels);
const queries: { where: string; expr: string; legendFormat?: string }[] = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t: Panel) => ({ where: `panel "${p.title}" ${t.refId}`, expr: String(t.expr), legendFormat: String(t.legendFormat ?? '') }))),
  ...dashboard.templating.list.filter((v: Panel) => v.type === 'query').map((v: Panel) => ({ where: `variable ${v.name}`, expr: String(v.query?.query ?? v.query) })),
];

const FUNCTIONS_AND_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Metric names of a PromQL expression (or label_values query), each with the labels matched on it; and the labels grouped or printed. */
function parse(expr: string): { metrics: { name: string; matchers: string[] }[]; groupLabels: string[] } {
  const metrics: { name: string; matchers: string[] }[] = [];
  const groupLabels: string[] = [];
  // Ranges and durations ([5m], [$__rate_interval]) and string values name no metric.
  let rest = expr.replace(/\[[^\]]*\]/g, ' ');
  const labelValues = /^label_values\(\s*(?:([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*,\s*)?(\w+)\s*\)$/.exec(rest.trim());
  if (labelValues) {
    if (labelValues[1]) metrics.push({ name: labelValues[1], matchers: matcherLabels(labelValues[2] ?? '') });
    groupLabels.push(labelValues[3]!);
    return { metrics, groupLabels };
  }
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_m, _kw, labels: string) => {
    groupLabels.push(...labels.split(',').map((l) => l.trim()).filter(Boolean));
    return ' ';
  });
  for (const m of rest.matchAll(/([a-zA-Z_:][\w:]*)?\s*(\{[^}]*\})|([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] !== undefined) {
      if (!m[1]) throw new Error(`a selector without a metric name in: ${expr}`);
      metrics.push({ name: m[1], matchers: matcherLabels(m[2]) });
    } else if (!m[4] && !FUNCTIONS_AND_KEYWORDS.has(m[3]!.toLowerCase())) metrics.push({ name: m[3]!, matchers: [] });
  }
  return { metrics, groupLabels };
}
const matcherLabels = (braces: string) => [...braces.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!);

/** Grafana's variables, as Prometheus would get them ($__rate_interval and the like: a duration). */
const substitute = (expr: string) => expr.replace(/\$\w+|\$\{[^}]+\}/g, (v) => (v.startsWith('$__') ? '1m' : 'x'));

/** What is wrong with one query: metrics nobody registers, labels they do not have, legends printing no label of theirs. */
function problemsOf(where: string, expr: string, legendFormat = ''): string[] {
  const problems: string[] = [];
  const { metrics, groupLabels } = parse(substitute(expr));
  if (!metrics.length) problems.push(`${where}: no metric in ${expr}`);
  const labelsOfExpr = new Set<string>();
  for (const { name, matchers } of metrics) {
    const labels = series.get(name);
    if (!labels) {
      problems.push(`${where}: ${name} is not registered anywhere`);
      continue;
    }
    for (const l of labels) labelsOfExpr.add(l);
    for (const l of matchers) if (!labels.has(l)) problems.push(`${where}: ${name} has no label ${l}`);
  }
  for (const l of groupLabels) if (!labelsOfExpr.has(l)) problems.push(`${where}: no metric of the query has the label ${l}`);
  for (const [, l] of legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) if (!labelsOfExpr.has(l!)) problems.push(`${where}: legend {{${l}}} is no label of its metrics`);
  return problems;
}

describe('the Grafana dashboard', () => {
  it('finds the metrics the code registers (the source scan agrees with the registries it can see)', () => {
    expect(scanned.unreadable).toEqual([]);
    for (const [name, def] of registered) {
      if (!name.startsWith('lectern_')) continue;
      expect(scanned.metrics.get(name), name).toMatchObject({ type: def.type, labels: def.labels });
    }
    // The worker's metrics exist only in startWorker: the scan must have found them.
    expect([...scanned.metrics.keys()]).toEqual(expect.arrayContaining(['lectern_queue_jobs', 'lectern_outbox_pending', 'lectern_job_duration_seconds', 'lectern_dead_letters_total']));
    expect(registered.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('is an importable Grafana 10+ dashboard on a ${DS_PROMETHEUS} input', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.id).toBeNull();
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource, p.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      const refIds = p.targets.map((t: Panel) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
    }
    const service = dashboard.templating.list.find((v: Panel) => v.name === 'service');
    expect(service).toMatchObject({ type: 'query', datasource: { uid: '${DS_PROMETHEUS}' }, multi: true, includeAll: true });
    // Panels and rows repeat over variables that exist.
    const variables = new Set(dashboard.templating.list.map((v: Panel) => v.name));
    for (const p of panels) if (p.repeat) expect(variables.has(p.repeat), p.title).toBe(true);
  });

  it('queries only metrics and labels the processes export', () => {
    expect(queries.length).toBeGreaterThan(20);
    expect(queries.flatMap((q) => problemsOf(q.where, q.expr, q.legendFormat))).toEqual([]);
  });

  it('tells a misspelt metric or label (the check above is not vacuous)', () => {
    expect(problemsOf('ok', 'sum by (service, route) (rate(lectern_http_request_duration_seconds_count{service=~"$service", route="graphql"}[$__rate_interval]))', '{{service}} {{route}}')).toEqual([]);
    expect(problemsOf('ok', 'max(nodejs_eventloop_lag_p99_seconds{instance=~"$instance"}) / 2 or vector(0)')).toEqual([]);
    expect(problemsOf('ok', 'histogram_quantile(0.99, sum by (le) (rate(lectern_job_duration_seconds_bucket{queue="q"}[1m])))')).toEqual([]);
    expect(problemsOf('m', 'rate(lectern_http_requests_total[1m])')).toEqual(['m: lectern_http_requests_total is not registered anywhere']);
    expect(problemsOf('h', 'rate(lectern_job_duration_seconds[1m])')).toEqual(['h: lectern_job_duration_seconds is not registered anywhere']);
    expect(problemsOf('l', 'lectern_queue_jobs{status="waiting"}')).toEqual(['l: lectern_queue_jobs has no label status']);
    expect(problemsOf('g', 'sum by (route) (lectern_outbox_pending)')).toEqual(['g: no metric of the query has the label route']);
    expect(problemsOf('f', 'lectern_dependency_up', '{{subgraph}}')).toEqual(['f: legend {{subgraph}} is no label of its metrics']);
    expect(problemsOf('v', 'label_values(lectern_queue_jobs, route)')).toEqual(['v: no metric of the query has the label route']);
  });
});
