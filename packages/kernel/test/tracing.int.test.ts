// Tracing through a subgraph and the event backbone, on real PostgreSQL and Redis: one traced
// request to a kernel-hosted subgraph gives a server span in the caller's trace with its
// operation, DataLoader batch and SQL spans under it (SQL text, never values); the event it
// records is published and consumed in spans of the same trace; a job it enqueues runs in one too.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import type { Worker } from 'bullmq';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { actor, gql, until } from '@lectern/testkit';
import { bootstrapDatabase, connectionString, migrate, RELAY_ROLE, withClient } from '../src/db.ts';
import { baseEnv, databaseEnv, z } from '../src/env.ts';
import { loaderRegistry, oneLoader } from '../src/loaders.ts';
import { createLogger } from '../src/logger.ts';
import { recordEvent } from '../src/outbox.ts';
import { OutboxRelay } from '../src/relay.ts';
import { defineJob, enqueue, startConsumer, startJobWorker } from '../src/consumers.ts';
import { eventQueueName, queueFactory, workerConnection, type QueueFactory } from '../src/queues.ts';
import { startSubgraph, type RunningSubgraph, type SubgraphContext, type SubgraphDefinition, type SubgraphEnv } from '../src/subgraph.ts';
import { inSpan, startTracing, type Tracing } from '../src/tracing.ts';
import { UnitOfWork } from '../src/uow.ts';
import { entities, handler, migrations, Note, NoteWritten, SCHEMA } from './fixtures/events-schema.ts';

const ADMIN = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const database = `lectern_test_tracing_${randomBytes(4).toString('hex')}`;
const prefix = `lectern-test-${database}`;
const dbUrl = connectionString(ADMIN, { user: '', database });
const log = createLogger('tracing-test', 'silent');
const A = randomUUID();
const SECRET = `secret-${randomUUID()}`;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

const seen: { job?: string } = {};
const touchJob = defineJob({
  queue: `jobs-${SCHEMA}`,
  name: 'touch-note',
  payload: z.object({ tenantId: z.string().uuid(), noteId: z.string().uuid() }),
  async run({ data }) {
    seen.job = data.noteId;
  },
});

type Ctx = SubgraphContext & { loaders: { note: ReturnType<typeof noteLoader> } };
const noteLoader = (base: SubgraphContext) => oneLoader<string, Note>(async (ids) => (await base.uow.em()).find(Note, { id: { $in: [...ids] } }), (n) => n.id);

let queues: QueueFactory;
const def: SubgraphDefinition<SubgraphEnv, Ctx> = {
  name: SCHEMA,
  typeDefs: parse(`
    type Note { id: ID! body: String! }
    type Query { notes(ids: [ID!]!): [Note]! others(body: String!): Int! }
    type Mutation { writeNote(body: String!): ID! }
  `),
  resolvers: {
    Query: {
      notes: (_: unknown, { ids }: { ids: string[] }, ctx: Ctx) => ids.map((id) => ctx.loaders.note.load(id)),
      // uow.statement: values inlined by the formatter, and still none in the span.
      others: async (_: unknown, { body }: { body: string }, ctx: Ctx) =>
        (await ctx.uow.statement<{ n: number }>('select count(*)::int as n from notes where tenant_id = ? and body <> ?', [ctx.actor.tenantId, body]))[0]!.n,
    },
    Mutation: {
      writeNote: (_: unknown, { body }: { body: string }, ctx: Ctx) =>
        ctx.uow.write(async (em) => {
          const tenantId = ctx.actor.tenantId!;
          const note = em.create(Note, { tenantId, body });
          await em.flush();
          await recordEvent(em, NoteWritten, { tenantId, aggregateId: note.id, payload: { noteId: note.id } });
          await enqueue(queues(touchJob.queue), touchJob, { tenantId, noteId: note.id });
          return note.id;
        }),
    },
  },
  entities,
  migrations,
  context: (base) => ({ ...base, loaders: loaderRegistry({ note: () => noteLoader(base) }) }),
};

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let subgraph: RunningSubgraph<SubgraphEnv>;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  tracing = await startTracing('tracing-test', {}, { exporter });
  await bootstrapDatabase({ adminUrl: ADMIN, database, subgraphs: [{ name: SCHEMA }] });
  await migrate({ ownerUrl: connectionString(ADMIN, { user: 'lectern_owner', database }), schema: SCHEMA, migrations });
  queues = queueFactory(workerConnection(REDIS), prefix);
  const env = baseEnv
    .extend(databaseEnv.shape)
    .extend({ PORT: z.coerce.number() })
    .parse({ DATABASE_URL: dbUrl, REDIS_URL: REDIS, REDIS_PREFIX: `${prefix}:`, LOG_LEVEL: 'silent', NODE_ENV: 'test', PORT: '0' });
  subgraph = await startSubgraph(def, env, { log });
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await subgraph?.close();
  for (const q of [eventQueueName(SCHEMA), touchJob.queue]) await queues?.(q).obliterate({ force: true }).catch(() => {});
  await queues?.close();
  await tracing?.shutdown();
  await withClient(ADMIN, async (c) => {
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
    await c.query(`DROP DATABASE IF EXISTS ${database}`);
  });
});

const finished = async () => {
  await tracing.flush();
  return exporter.getFinishedSpans();
};
const byId = (spans: ReadableSpan[]) => new Map(spans.map((s) => [s.spanContext().spanId, s]));
/** Names of `span`'s ancestors, nearest first. */
function ancestry(span: ReadableSpan, spans: ReadableSpan[]): string[] {
  const index = byId(spans);
  const names: string[] = [];
  for (let p = span.parentSpanContext?.spanId; p && index.has(p); p = index.get(p)!.parentSpanContext?.spanId) names.push(index.get(p)!.name);
  return names;
}
const call = (query: string, variables: Record<string, unknown>, span = randomBytes(8).toString('hex')) =>
  gql(subgraph.url, query, variables, { actor: actor({ tenantId: A }), headers: { traceparent: `00-${TRACE}-${span}-01` } });

describe('a traced subgraph request', () => {
  it('is one trace from the caller through the operation, its DataLoader batches and its SQL', async () => {
    const written = await call('mutation WriteNote($body: String!) { writeNote(body: $body) }', { body: SECRET }, PARENT);
    expect(written.errors).toBeUndefined();
    const id = written.data!.writeNote as string;
    const read = await call('query ReadNotes($ids: [ID!]!) { notes(ids: $ids) { id body } }', { ids: [id, randomUUID()] });
    expect(read.data!.notes).toEqual([{ id, body: SECRET }, null]);

    const spans = await finished();
    const server = spans.find((s) => s.name === 'POST /graphql' && s.parentSpanContext?.spanId === PARENT)!;
    expect(server.spanContext().traceId).toBe(TRACE);
    expect(server.attributes['http.response.status_code']).toBe(200);
    const operation = spans.find((s) => s.name === 'graphql.operation WriteNote')!;
    expect(operation.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'WriteNote' });

    const sql = spans.filter((s) => s.name === 'db.query' && s.spanContext().traceId === TRACE);
    const insert = sql.find((s) => /insert into "kerneltest"\."notes"/.test(String(s.attributes['db.query.text'])))!;
    expect(insert.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.operation.name': 'INSERT', 'db.namespace': SCHEMA });
    expect(ancestry(insert, spans)).toEqual(['graphql.operation WriteNote', 'POST /graphql']);
    expect(sql.some((s) => String(s.attributes['db.query.text']).includes('outbox_record'))).toBe(true);

    const batch = spans.find((s) => s.name === 'dataloader.batch note')!;
    expect(batch.attributes['lectern.dataloader.batch_size']).toBe(2);
    expect(ancestry(batch, spans)).toEqual(['graphql.operation ReadNotes', 'POST /graphql']);
    // The batch's statements: the unit of work's tenant setting (its transaction begins here), the select.
    const select = spans.find((s) => s.parentSpanContext?.spanId === batch.spanContext().spanId && /^select .* from "kerneltest"\."notes"/.test(String(s.attributes['db.query.text'])))!;
    expect(select.name).toBe('db.query');
    expect(select.attributes['db.response.returned_rows']).toBe(1);

    // No span carries a parameter value.
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain(SECRET);
  });

  it('keeps values out of the spans of statements the kernel sends with values inlined (uow.statement)', async () => {
    const other = `other-${SECRET}`;
    const r = await call('query Others($body: String!) { others(body: $body) }', { body: other });
    expect(r.data?.others).toBeGreaterThanOrEqual(1);
    const spans = await finished();
    const statement = spans.find((s) => s.name === 'db.query' && String(s.attributes['db.query.text']).includes('count(*)'))!;
    expect(statement.attributes['db.query.text']).toBe('select set_config(?, ?, true), set_config(?, ?, true); select count(*)::int as n from notes where tenant_id = ? and body <> ?');
    expect(ancestry(statement, spans)).toEqual(['graphql.operation Others', 'POST /graphql']);
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain(other);
  });
});

describe('events a SQL function records', () => {
  it('keep the trace: outbox_record called with its eight arguments takes the transaction’s traceparent', async () => {
    const uow = new UnitOfWork(subgraph.deps.orm, A);
    const record = (id: string) => uow.statement(`select ${SCHEMA}.outbox_record(?::uuid, ?::uuid, 'UnroutedByFunction', 1, 'note', ?, now(), '{}'::jsonb)`, [id, A, id]);
    const [traced, untraced] = [randomUUID(), randomUUID()];
    const traceId = await inSpan('test', {}, async (span) => {
      await record(traced);
      return span.spanContext().traceId;
    });
    await record(untraced);
    const { rows } = await withClient(connectionString(ADMIN, { database }), (c) => c.query(`select id, traceparent from ${SCHEMA}.outbox where id = any($1::uuid[])`, [[traced, untraced]]));
    const byId = new Map(rows.map((r: { id: string; traceparent: string | null }) => [r.id, r.traceparent]));
    expect(byId.get(traced)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(byId.get(untraced)).toBeNull();
  });
});

describe('events and jobs of a traced request', () => {
  it('are consumed and run in spans of the request’s trace', async () => {
    const relay = new OutboxRelay({ url: connectionString(ADMIN, { user: RELAY_ROLE, database }), schema: SCHEMA, routes: { NoteWritten: [SCHEMA] }, queue: queues, log, pollMs: 50 });
    await relay.start();
    stops.push(() => relay.stop());
    const workers: Worker[] = [];
    const common = { orm: subgraph.deps.orm, prefix, log };
    const consumerConnection = workerConnection(REDIS);
    workers.push(startConsumer({ ...common, consumer: SCHEMA, handlers: [handler], connection: consumerConnection }));
    const jobConnection = workerConnection(REDIS);
    workers.push(startJobWorker([touchJob], { ...common, queue: touchJob.queue, connection: jobConnection }));
    stops.push(async () => {
      await Promise.all(workers.map((w) => w.close()));
      consumerConnection.disconnect();
      jobConnection.disconnect();
    });

    const trace = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const written = await gql(subgraph.url, 'mutation W($body: String!) { writeNote(body: $body) }', { body: 'traced' }, { actor: actor({ tenantId: A }), headers: { traceparent: `00-${trace}-${parent}-01` } });
    const noteId = written.data!.writeNote as string;
    const { rows } = await withClient(connectionString(ADMIN, { database }), (c) => c.query(`select traceparent from ${SCHEMA}.outbox where aggregate_id = $1`, [noteId]));
    expect(rows).toEqual([{ traceparent: expect.stringMatching(new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`)) }]);

    const consume = await until(async () => (await finished()).find((s) => s.name === 'consume NoteWritten' && s.spanContext().traceId === trace));
    const spans = await finished();
    expect(consume.kind).toBe(4); // CONSUMER
    expect(consume.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.destination.name': eventQueueName(SCHEMA), 'messaging.message.id': expect.any(String) });
    const publish = spans.find((s) => s.spanContext().spanId === consume.parentSpanContext?.spanId)!;
    expect(publish).toMatchObject({ name: 'publish NoteWritten', kind: 3 }); // PRODUCER
    expect(ancestry(consume, spans).slice(-3)).toEqual(['publish NoteWritten', 'graphql.operation W', 'POST /graphql']);
    // The handler's SQL is in the consumer's span.
    expect(spans.some((s) => s.name === 'db.query' && s.parentSpanContext?.spanId === consume.spanContext().spanId && String(s.attributes['db.query.text']).includes('effects'))).toBe(true);

    const job = await until(async () => (await finished()).find((s) => s.name === 'job touch-note' && s.spanContext().traceId === trace));
    expect(seen.job).toBe(noteId);
    expect(ancestry(job, await finished())).toEqual(['graphql.operation W', 'POST /graphql']);
  });
});
