// OpenTelemetry through the whole stack (kernel tracing.ts), in one process with the SDK's
// in-memory exporter: one operation is one trace from the gateway through each subgraph to its
// SQL statements, and an event recorded by a traced mutation is consumed in the same trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startTracing, type Tracing } from '@lectern/kernel/tracing';
import { globalId } from '@lectern/kernel/ids';
import { idem, until } from '@lectern/testkit';
import { seedOrganizationWithPeople, TEST_PASSWORD } from '@lectern/identity/testing';
import { seedCourse } from '@lectern/catalog/testing';
import { startStack, run, type Stack } from './src/harness.ts';
import { LoginDocument } from './__generated__/graphql.ts';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let stack: Stack;
let admin = '';
let draftId = '';

beforeAll(async () => {
  tracing = await startTracing('e2e', {}, { exporter });
  // Workers: catalog's relay publishes CoursePublished, notifications and media consume it.
  stack = await startStack('tracing', {}, { workers: true, catalogRelay: true });
  const A = await seedOrganizationWithPeople(stack.identity.deps.orm, 'acme');
  await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorIds: [A.admin.id], title: 'Traced safety', published: true });
  draftId = (await seedCourse(stack.catalog.deps.orm, { tenantId: A.org.id, authorIds: [A.admin.id], title: 'Traced draft', published: false })).id;
  const r = await run(stack.url, LoginDocument, { input: { email: A.admin.email, password: TEST_PASSWORD, organizationSlug: 'acme', idempotencyKey: idem() } });
  admin = r.data!.login.accessToken!;
}, 120_000);
afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

/** Sends `query` through the gateway as the admin, in a trace of the test's own; the trace id. */
async function traced(query: string, variables: Record<string, unknown> = {}) {
  const traceId = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const res = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, traceparent: `00-${traceId}-${'1'.repeat(16)}-01` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { errors?: unknown };
  expect(body.errors).toBeUndefined();
  return traceId;
}

const spansOf = async (traceId: string) => {
  await tracing.flush();
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
};
/** The names of `span`'s ancestors within its trace, nearest first. */
function ancestors(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const out: ReadableSpan[] = [];
  for (let p = span.parentSpanContext?.spanId; p && byId.has(p); p = byId.get(p)!.parentSpanContext?.spanId) out.push(byId.get(p)!);
  return out;
}

describe('tracing', () => {
  it('follows one operation from the gateway through each subgraph to its SQL, in one trace', async () => {
    const traceId = await traced('query Page { courses(first: 5) { nodes { id title authors { displayName } } } }');
    const spans = await until(async () => {
      const found = await spansOf(traceId);
      return found.filter((s) => s.name === 'db.query').length >= 2 ? found : null;
    });
    const servers = spans.filter((s) => s.name === 'POST /graphql');
    // The gateway's, catalog's and identity's (the authors' names).
    expect(servers.length).toBeGreaterThanOrEqual(3);
    const root = servers.find((s) => s.parentSpanContext?.spanId === '1'.repeat(16))!;
    expect(root).toBeDefined();
    // Every SQL statement of the operation descends from the gateway's request, through a
    // subgraph's operation span; no parameter values are recorded.
    const statements = spans.filter((s) => s.name === 'db.query');
    for (const sql of statements) {
      expect(ancestors(sql, spans).at(-1)).toBe(root);
      expect(String(sql.attributes['db.query.text'])).not.toMatch(/Traced safety/);
    }
    // catalog's page and identity's authors: each under its subgraph's operation span, under one
    // of the query plan's fetches (Apollo's gateway spans).
    for (const schema of ['catalog', 'identity']) {
      const chains = statements.filter((s) => s.attributes['db.namespace'] === schema).map((s) => ancestors(s, spans).map((a) => a.name));
      expect(chains.some((c) => c.some((n) => n.startsWith('graphql.operation Page__')) && c.includes('gateway.fetch')), schema).toBe(true);
    }
    expect(spans.some((s) => s.name.startsWith('dataloader.batch'))).toBe(true);
  });

  it('continues the trace of a mutation into the consumers of the event it recorded', async () => {
    const traceId = await traced('mutation($input: PublishCourseInput!) { publishCourse(input: $input) { errors { code } } }', {
      input: { courseId: globalId('Course', draftId), idempotencyKey: idem() },
    });
    const spans = await until(async () => {
      const found = await spansOf(traceId);
      return found.some((s) => s.name === 'consume catalog.CoursePublished') ? found : null;
    });
    const consume = spans.find((s) => s.name === 'consume catalog.CoursePublished')!;
    expect(consume.spanContext().traceId).toBe(traceId);
    expect(ancestors(consume, spans).some((s) => s.name === 'publish catalog.CoursePublished')).toBe(true);
  });
});
