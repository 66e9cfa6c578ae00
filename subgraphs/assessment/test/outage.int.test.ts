// Attempts while Redis is down (a TCP proxy in front of the shared Redis, closed): starting and
// saving still work and answer at once (attempts live in PostgreSQL; only the expire-attempt job
// could not be queued), and the worker's sweep submits and grades the attempt at its deadline
// straight through PostgreSQL, with no job and no client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGlobalId } from '@lectern/kernel';
import type { RunningWorker } from '@lectern/kernel/worker';
import { target, TcpProxy } from '@lectern/testkit/tcp-proxy';
import { loadEnv, startAssessmentWorker, type AssessmentEnv } from '../src/server.ts';
import type { WorkerRuntime } from '../src/worker.ts';
import { bank, choice, idem, M, ok, organization, question, quiz, start, startHarness, until, type Harness, type Org } from './helpers.ts';

const proxy = new TcpProxy(...target(loadEnv().REDIS_URL));
let h: Harness;
let org: Org;
let worker: RunningWorker<AssessmentEnv, WorkerRuntime> | undefined;

beforeAll(async () => {
  await proxy.open();
  h = await startHarness('assessoutage', { REDIS_URL: proxy.url });
  org = await organization(h);
  worker = await startAssessmentWorker(h.env, { port: 0 });
});
afterAll(async () => {
  await proxy.open().catch(() => {});
  // Redis is back: the worker's connections reconnect (ready again) before it is closed.
  if (worker) await until(() => fetch(`${worker!.url}/readyz`).then((r) => r.ok, () => false));
  await worker?.close();
  await h?.close();
  await proxy.close();
});

describe('while Redis is down', () => {
  it('starts and saves attempts at once, and the sweep grades them at their deadline', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, await bank(h, org.instructor), choice('Q'))], closesAt: new Date(Date.now() + 3000).toISOString() });
    await proxy.close();
    const began = performance.now();
    const attempt = await start(h, org.learner, quizId);
    const saved = await ok(h, org.learner, M.save, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    expect(saved.saveAnswers.errors).toEqual([]);
    // The job could not be queued: the start waited at most its bounded enqueue (1 s), not for Redis.
    expect(performance.now() - began).toBeLessThan(3000);
    const row = async () =>
      (
        await h.admin.query(`select status, auto_submitted, score, (extract(epoch from (graded_at - deadline)) * 1000)::float8 as lag_ms from assessment.attempts where id = $1`, [
          parseGlobalId(attempt.id)!.keys[0],
        ])
      ).rows[0] as { status: string; auto_submitted: boolean; score: string; lag_ms: number };
    const done = await until(row, (r) => r.status === 'GRADED');
    expect(done).toMatchObject({ auto_submitted: true, score: '1' });
    expect(done.lag_ms).toBeLessThan(5000);
  });
});
