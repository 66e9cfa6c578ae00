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
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, Kind } from 'graphql';
import { databaseEnv, parseEnv } from '@lectern/kernel/env';
import { gql, until } from '@lectern/testkit';
import { seedDemo, seedDemoEnrollments, demoAdminToken, DEMO_PASSWORD, DEMO_SLUG } from '../scripts/seed-demo.ts';
import { startStack, type Stack } from './src/harness.ts';

interface Example {
  line: number;
  as: string;
  vars: Record<string, string>;
  source: string;
  name: string;
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
    examples.push({ line: i + 1, as: m[1]!, vars: m[2] ? (JSON.parse(m[2]) as Record<string, string>) : {}, source, name: ops[0]!.name.value });
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

let stack: Stack;
const tokens = new Map<string, string | undefined>([['anonymous', undefined]]);

beforeAll(async () => {
  stack = await startStack('readme', {}, { workers: true });
  const people = await seedDemo(parseEnv(databaseEnv, stack.db.env));
  const admin = await demoAdminToken(stack.url, people.admin.email);
  expect(await seedDemoEnrollments(stack.url, admin!, people)).not.toBeNull();
  // As after `pnpm dev` has run a moment: learning has heard of the demo enrollments (a reader
  // pastes the examples by hand; the test must not outrun the event backbone).
  const learner = await gql(stack.url, `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { email: people.learner.email, password: DEMO_PASSWORD, organizationSlug: DEMO_SLUG } });
  const token = learner.data!.login.accessToken as string;
  await until(
    async () => (await gql(stack.url, `{ courseBySlug(slug: "introduction-to-sql") { myProgress { id } } }`, {}, { token })).data?.courseBySlug?.myProgress,
    Boolean,
    20_000,
  );
  // The operator the README creates, with the command it shows.
  execFileSync(process.execPath, ['scripts/create-super-admin.ts', '--email', 'operator@lectern.example', '--password', 'operator-passphrase-1'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, ...stack.db.env },
  });
}, 180_000);
afterAll(async () => {
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
      const r = await gql(stack.url, ex.source, variables, token ? { token } : {});
      expect(r.errors, `README.md:${ex.line} (${ex.name}): ${r.body}`).toBeUndefined();
      expect(payloadErrors(r.data), `README.md:${ex.line} (${ex.name}): ${r.body}`).toEqual([]);
      results.set(ex.name, r.data);
    }
  }, 120_000);
});
