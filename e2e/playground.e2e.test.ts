// README's first command as a newcomer runs it: `pnpm dev` bootstraps, migrates, seeds the
// demo organization and prints the playground link; headless Chromium opens it, runs the
// prefilled `courses` query and sees the demo catalog. Then GraphiQL runs a subscription (over
// graphql-ws on the same /graphql, the Headers pane as connectionParams, under the playground's
// CSP) on the demo live session `pnpm dev` printed, and a chat message posted over HTTP appears
// in its result pane.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { withClient } from '@lectern/kernel/db';
import { ADMIN_URL, until } from '@lectern/testkit';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const database = `lectern_test_dev_${randomBytes(4).toString('hex')}`;
const offset = 20_000 + Math.floor(Math.random() * 5000);
let dev: ChildProcess | undefined;
let output = '';
let browser: Browser | undefined;

const launch = async () =>
  (browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  }));
/** The signed-in playground link `pnpm dev` printed. */
const playgroundLink = () => /Signed in as the demo admin.*\n\s+(\S+)/.exec(output)?.[1];

beforeAll(async () => {
  dev = spawn(process.execPath, ['scripts/dev.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, DATABASE_URL: `postgres://127.0.0.1:5432/${database}`, LECTERN_PORT_OFFSET: String(offset), REDIS_PREFIX: `lectern:test:${database}:`, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  dev.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pnpm dev did not start in time:\n${output}`)), 90_000);
    const poll = setInterval(() => {
      if (output.includes("Press Ctrl-C to stop")) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 100);
    dev!.once('exit', (code) => reject(new Error(`pnpm dev exited with ${code}:\n${output}`)));
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dev && dev.exitCode === null) {
    dev.kill('SIGTERM');
    await new Promise((r) => dev!.once('exit', r));
  }
  await withClient(ADMIN_URL, async (c) => {
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
    await c.query(`DROP DATABASE IF EXISTS "${database}"`);
  });
});

describe('pnpm dev and the playground', () => {
  it('prints the playground URL and the demo logins', () => {
    expect(output).toContain(`Playground       : http://127.0.0.1:${4000 + offset}/playground`);
    for (const login of ['admin@demo.lectern.dev', 'instructor@demo.lectern.dev', 'learner1@demo.lectern.dev', 'learner2@demo.lectern.dev']) {
      expect(output).toContain(login);
    }
    // The demo live session, to subscribe to in the playground.
    expect(output).toMatch(/Live session "Introduction to SQL: live Q&A" \(\S+\): SCHEDULED, starts \S+; subscribe with sessionEvents/);
  });

  it.skipIf(!existsSync(CHROMIUM))('loads the playground in headless Chromium, runs a courses query and shows the result', async () => {
    const link = playgroundLink();
    expect(link).toBeDefined();
    const page = await (await launch()).newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(link!);
    await page.locator('.graphiql-execute-button').waitFor({ state: 'visible', timeout: 20_000 });
    await page.click('.graphiql-execute-button');
    // CodeMirror renders only the visible lines: read the pane's text until the result is in.
    const pane = page.locator('.graphiql-response');
    let response = '';
    for (let i = 0; i < 100 && !response.includes('"authors"'); i++) {
      response = await pane.innerText();
      if (!response.includes('"authors"')) await page.waitForTimeout(200);
    }
    expect(response).toContain('"courses"');
    expect(response).toMatch(/"title": "(Introduction to SQL|Giving Effective Feedback|Customer Support Fundamentals|Data Privacy|Workplace Safety|Advanced SQL)/);
    expect(response).toMatch(/"displayName": "(Ada Admin|Ivan Instructor)"/);
    expect(response).not.toContain('"errors"');
    expect(problems).toEqual([]);
  }, 60_000);

  it.skipIf(!existsSync(CHROMIUM))('runs a subscription in GraphiQL over graphql-ws and shows a chat message posted over HTTP', async () => {
    const base = `http://127.0.0.1:${4000 + offset}`;
    const sessionId = /Live session "[^"]+" \((\S+)\)/.exec(output)?.[1];
    expect(sessionId, output).toBeDefined();
    // The admin's Authorization header, as the printed link puts it in the Headers pane.
    const headers = new URL(playgroundLink()!).searchParams.get('headers')!;
    expect(JSON.parse(headers)).toMatchObject({ Authorization: expect.stringMatching(/^Bearer /) });
    const query = `subscription Chat {\n  chatMessageAdded(sessionId: "${sessionId}") { body author { displayName } }\n}\n`;
    const page = await (await launch()).newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(`${base}/playground?query=${encodeURIComponent(query)}&headers=${encodeURIComponent(headers)}`);
    await page.locator('.graphiql-execute-button').waitFor({ state: 'visible', timeout: 20_000 });
    await page.click('.graphiql-execute-button');
    // Established: the gateway's upstream subscription is open at live (the only subscriber of this stack).
    await until(async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${4006 + offset}/metrics`)).text();
      if (problems.length) throw new Error(problems.join('\n'));
      return /^lectern_subscriptions_active\{[^}]*kind="shared"[^}]*\} [1-9]/m.test(metrics);
    }, Boolean, 15_000);
    // The instructor posts over HTTP; the admin's subscription in GraphiQL receives it.
    const gql = async (body: Record<string, unknown>, token?: string) => {
      const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      return (await res.json()) as { data?: Record<string, { accessToken?: string; message?: { id: string } | null; errors?: unknown[] }> };
    };
    const login = await gql({ query: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', variables: { i: { email: 'instructor@demo.lectern.dev', password: 'correct-horse-battery', organizationSlug: 'demo' } } });
    const body = `Hello from the test ${randomBytes(4).toString('hex')}`;
    const posted = await gql(
      { query: 'mutation($i: PostChatMessageInput!) { postChatMessage(input: $i) { message { id } errors { code message } } }', variables: { i: { sessionId, body, idempotencyKey: `playground-${randomBytes(8).toString('hex')}` } } },
      login.data!.login!.accessToken,
    );
    expect(posted.data?.postChatMessage?.errors).toEqual([]);
    await page.waitForFunction((text) => document.querySelector('.graphiql-response')?.textContent?.includes(text) ?? false, body, { timeout: 15_000 });
    const response = await page.locator('.graphiql-response').innerText();
    expect(response).toContain('"chatMessageAdded"');
    expect(response).toContain('"displayName": "Ivan Instructor"');
    expect(response).not.toContain('"errors"');
    expect(problems).toEqual([]);
  }, 60_000);
});
