// README's first command as a newcomer runs it: `pnpm dev` bootstraps, migrates, seeds the
// demo organization and prints the playground link; headless Chromium opens it, runs the
// prefilled `courses` query and sees the demo catalog.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { withClient } from '@lectern/kernel/db';
import { ADMIN_URL } from '@lectern/testkit';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const database = `lectern_test_dev_${randomBytes(4).toString('hex')}`;
const offset = 20_000 + Math.floor(Math.random() * 5000);
let dev: ChildProcess | undefined;
let output = '';
let browser: Browser | undefined;

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
      if (output.includes('Press Ctrl-C to stop')) {
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
  });

  it.skipIf(!existsSync(CHROMIUM))('loads the playground in headless Chromium, runs a courses query and shows the result', async () => {
    const link = /Signed in as the demo admin.*\n\s+(\S+)/.exec(output)?.[1];
    expect(link).toBeDefined();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage();
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
});
