// README.md's examples, run in order exactly as written, against a stack seeded the way
// `pnpm dev` seeds it. Every ```graphql block in the README is one operation preceded by an
// HTML comment (invisible on the rendered page) saying who runs it and where its variables
// come from, as a reader pastes them into the playground:
//
//   <!-- example as=admin vars={"course": "CreateCourse.createCourse.course.id"} -->
//
// `as` is a demo login (anonymous, admin, instructor, learner1, learner2, or superadmin: the
// operator the README creates with scripts/create-super-admin.ts); each variable is a path
// into an earlier example's answer, named by that example's operation name. An example passes
// when the answer has no `errors` and every payload's `errors` list is empty. A block without
// its comment fails the test, so no example goes unchecked.
//
// A `subscription` example is started where it stands, as a reader starts it in a playground
// tab of its own: a graphql-ws client (graphql-ws's createClient over `ws`, the README's Node
// example) on the gateway's /graphql, signed in with the `as` login's token in connectionParams.
// The next example runs only once the subscription is established (admitted by the gateway and
// its upstream open at the owning subgraph), so the events the following examples cause reach
// it; by the end of the run each must have received at least one result, and every result it
// received must be free of errors, like a query's answer.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, Kind, type OperationTypeNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { databaseEnv, parseEnv } from '@lectern/kernel/env';
import { gql, until } from '@lectern/testkit';
import { seedDemo, seedDemoEnrollments, seedDemoSession, demoLoginToken, demoQuiz, DEMO_PASSWORD, DEMO_SLUG } from '../scripts/seed-demo.ts';
import { startStack, type Stack } from './src/harness.ts';

interface Example {
  line: number;
  as: string;
  vars: Record<string, string>;
  source: string;
  name: string;
  kind: OperationTypeNode;
}

const README = new URL('../README.md', import.meta.url);

/** The README's examples in order, each with its annotation. */
function readmeExamples(text: string): Example[] {
  const lines = text.split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```graphql') continue;
    const end = lines.indexOf('```', i + 1);
    const source = lines.slice(i + 1, end).join('\n');
    const note = lines.slice(Math.max(0, i - 3), i).reverse().find((l) => l.startsWith('<!-- example'));
    if (!note) throw new Error(`README.md:${i + 1}: a graphql block without its <!-- example … --> comment`);
    const m = /^<!-- example as=(\S+)(?: vars=(\{.*\}))? -->$/.exec(note.trim());
    if (!m) throw new Error(`README.md:${i}: malformed example comment: ${note}`);
    const doc = parse(source);
    const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (ops.length !== 1 || !ops[0]!.name) throw new Error(`README.md:${i + 1}: an example is exactly one named operation`);
    const op = ops[0]!;
    examples.push({ line: i + 1, as: m[1]!, vars: m[2] ? (JSON.parse(m[2]) as Record<string, string>) : {}, source, name: op.name!.value, kind: op.operation });
    i = end;
  }
  return examples;
}

function pick(results: Map<string, unknown>, path: string): unknown {
  const [op, ...rest] = path.split('.');
  let v: unknown = results.get(op!);
  if (v === undefined) throw new Error(`no earlier example named ${op}`);
  for (const key of rest) {
    const idx = /^(.+)\[(\d+)\]$/.exec(key);
    v = idx ? (v as Record<string, unknown[]>)[idx[1]!]?.[Number(idx[2])] : (v as Record<string, unknown>)?.[key];
  }
  if (v === undefined || v === null) throw new Error(`${path} is empty`);
  return v;
}

/** Every `errors` list inside a payload (data is plain JSON). */
function payloadErrors(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) payloadErrors(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'errors' && Array.isArray(v)) out.push(...v);
      else payloadErrors(v, out);
    }
  }
  return out;
}

/** A subscription example running since its block came in order. */
interface Running {
  ex: Example;
  client: Client;
  results: { data?: unknown; errors?: readonly unknown[] }[];
  /** Why it ended early (an error message, a closed socket, a completion with nothing received). */
  failure: string | undefined;
}

/** Starts `ex` on its own graphql-ws socket to the gateway, signed in as `token`'s holder. */
function startSubscription(ex: Example, token: string | undefined, variables: Record<string, unknown>): Running {
  const client = createClient({
    url: stack.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  const running: Running = { ex, client, results: [], failure: undefined };
  client.subscribe(
    { query: ex.source, variables, operationName: ex.name },
    {
      next: (result) => void running.results.push(result),
      error: (err: unknown) => {
        const e = err as { code?: number; reason?: string; message?: string };
        running.failure = Array.isArray(err) ? JSON.stringify(err) : e.code ? `socket closed ${e.code} ${e.reason ?? ''}` : String(e.message ?? err);
      },
      complete: () => {
        if (!running.results.length) running.failure = 'completed without a result';
      },
    },
  );
  return running;
}

const where = (r: Running) => `README.md:${r.ex.line} (${r.ex.name})`;

/** Subscriptions open on the subgraphs for the gateway's upstreams (their lectern_subscriptions_active{kind="shared"}). */
async function sharedUpstreams(): Promise<number> {
  let n = 0;
  for (const s of [stack.identity, stack.catalog, stack.enrollment, stack.learning, stack.notifications, stack.live, stack.assessment, stack.media]) {
    const text = await (await fetch(s.url.replace(/\/graphql$/, '/metrics'))).text();
    for (const m of text.matchAll(/^lectern_subscriptions_active\{[^}]*kind="shared"[^}]*\} (\d+)/gm)) n += Number(m[1]);
  }
  return n;
}

/**
 * Until every running subscription is admitted and attached by the gateway and every upstream
 * the gateway opened is a subscription at its subgraph: events from now on reach them all.
 */
async function established(running: Running[]) {
  await until(
    async () => {
      for (const r of running) if (r.failure) throw new Error(`${where(r)}: ${r.failure}`);
      return stack.gateway.engine.subscriberCount >= running.length && (await sharedUpstreams()) >= stack.gateway.engine.upstreamCount;
    },
    Boolean,
    10_000,
  );
}

let stack: Stack;
const tokens = new Map<string, string | undefined>([['anonymous', undefined]]);
const running: Running[] = [];

beforeAll(async () => {
  stack = await startStack('readme', {}, { workers: true });
  const people = await seedDemo(parseEnv(databaseEnv, stack.db.env), { media: stack.media.deps.env });
  const admin = await demoLoginToken(stack.url, people.admin.email);
  const scheduled = await seedDemoEnrollments(stack.url, admin!, people);
  expect(scheduled).not.toBeNull();
  // The live session `pnpm dev` schedules (live hears of the demo cohort from enrollment's events).
  const session = await seedDemoSession(stack.url, admin!, scheduled!.offeringId);
  expect(session).not.toBeNull();
  // As after `pnpm dev` has run a moment: learning has heard of the demo enrollments (a reader
  // pastes the examples by hand; the test must not outrun the event backbone).
  const learner = await gql(stack.url, `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { email: people.learner.email, password: DEMO_PASSWORD, organizationSlug: DEMO_SLUG } });
  const token = learner.data!.login.accessToken as string;
  await until(
    async () => (await gql(stack.url, `{ courseBySlug(slug: "introduction-to-sql") { myProgress { id } } }`, {}, { token })).data?.courseBySlug?.myProgress,
    Boolean,
    20_000,
  );
  // …and live has heard of learner1's enrollment: the demo session is theirs to see and join.
  await until(async () => (await gql(stack.url, `query($id: ID!) { session(id: $id) { id } }`, { id: session!.sessionId }, { token })).data?.session?.id, Boolean, 20_000);
  // …and assessment has too: the demo quiz is theirs to take (as `pnpm dev` waits before printing it).
  expect(await demoQuiz(stack.url, token)).not.toBeNull();
  // The operator the README creates, with the command it shows.
  execFileSync(process.execPath, ['scripts/create-super-admin.ts', '--email', 'operator@lectern.example', '--password', 'operator-passphrase-1'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, ...stack.db.env },
  });
}, 180_000);
afterAll(async () => {
  await Promise.all(running.map((r) => r.client.dispose()));
  await stack?.close();
});

describe('README examples', () => {
  it('run in order, as written, as the logins they name', async () => {
    const examples = readmeExamples(readFileSync(README, 'utf8'));
    expect(examples.length).toBeGreaterThan(10);
    const logins: Record<string, [string, string]> = {
      admin: ['admin@demo.lectern.dev', DEMO_PASSWORD],
      instructor: ['instructor@demo.lectern.dev', DEMO_PASSWORD],
      learner1: ['learner1@demo.lectern.dev', DEMO_PASSWORD],
      learner2: ['learner2@demo.lectern.dev', DEMO_PASSWORD],
    };
    const results = new Map<string, unknown>();
    for (const ex of examples) {
      if (!tokens.has(ex.as)) {
        const [email, password] = ex.as === 'superadmin' ? ['operator@lectern.example', 'operator-passphrase-1'] : logins[ex.as] ?? [];
        if (!email) throw new Error(`README.md:${ex.line}: unknown login ${ex.as}`);
        const r = await gql(stack.url, `mutation($i: LoginInput!) { login(input: $i) { accessToken errors { code message } } }`, {
          i: { email, password, organizationSlug: DEMO_SLUG },
        });
        expect(r.data?.login?.accessToken, `login as ${ex.as}: ${r.body}`).toBeTruthy();
        tokens.set(ex.as, r.data!.login.accessToken as string);
      }
      const variables = Object.fromEntries(Object.entries(ex.vars).map(([k, path]) => [k, pick(results, path)]));
      const token = tokens.get(ex.as);
      if (ex.kind === 'subscription') {
        running.push(startSubscription(ex, token, variables));
        await established(running);
        continue;
      }
      const r = await gql(stack.url, ex.source, variables, token ? { token } : {});
      expect(r.errors, `README.md:${ex.line} (${ex.name}): ${r.body}`).toBeUndefined();
      expect(payloadErrors(r.data), `README.md:${ex.line} (${ex.name}): ${r.body}`).toEqual([]);
      results.set(ex.name, r.data);
    }
    // Every subscription received what the examples after it caused, without errors.
    for (const r of running) {
      await until(
        () => {
          if (r.failure) throw new Error(`${where(r)}: ${r.failure}`);
          return r.results.length > 0;
        },
        Boolean,
        10_000,
      ).catch((err: Error) => {
        throw r.failure ? err : new Error(`${where(r)} received nothing: ${err.message}`);
      });
      for (const result of r.results) {
        expect(result.errors, `${where(r)}: ${JSON.stringify(result)}`).toBeUndefined();
        expect(payloadErrors(result.data), `${where(r)}: ${JSON.stringify(result)}`).toEqual([]);
      }
    }
  }, 120_000);
});
