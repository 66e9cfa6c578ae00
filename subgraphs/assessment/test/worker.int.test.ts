// The assessment worker: attempts end at their deadline with no client involved (the delayed
// expire-attempt job, across a worker restart, and the sweep when Redis lost the job), the
// roster consumer applies each event once, and the outbox relays QuizPassed to learning.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGlobalId } from '@lectern/kernel';
import { eventQueueName } from '@lectern/kernel/queues';
import { jobQueueName, type RunningWorker } from '@lectern/kernel/worker';
import { LearnerEnrolled } from '@lectern/contracts/enrollment';
import { settled } from '@lectern/testkit';
import { startAssessmentWorker, type AssessmentEnv } from '../src/server.ts';
import type { WorkerRuntime } from '../src/worker.ts';
import { envelope } from '../src/testing/index.ts';
import { bank, choice, idem, M, ok, organization, question, quiz, start, startHarness, until, type Harness, type Org } from './helpers.ts';

const uuidOf = (id: string) => parseGlobalId(id)!.keys[0]!;

let h: Harness;
let org: Org;
let bankId: string;
let worker: RunningWorker<AssessmentEnv, WorkerRuntime> | undefined;

beforeAll(async () => {
  h = await startHarness('assessworker');
  org = await organization(h);
  bankId = await bank(h, org.instructor);
});
afterAll(async () => {
  const queues = worker?.deps.queues;
  for (const q of [eventQueueName('assessment'), eventQueueName('learning'), jobQueueName('assessment')]) await queues?.(q).obliterate({ force: true }).catch(() => {});
  await worker?.close();
  await h?.close();
});

/** The attempt's row: status, whether the server submitted it, and graded_at - deadline in ms. */
async function row(attemptId: string) {
  const { rows } = await h.admin.query(
    `select status, auto_submitted, (extract(epoch from (graded_at - deadline)) * 1000)::float8 as lag_ms from assessment.attempts where id = $1`,
    [uuidOf(attemptId)],
  );
  return rows[0] as { status: string; auto_submitted: boolean; lag_ms: number | null };
}

/** A quiz closing `ms` from now (the deadline of attempts started before then). */
async function closingQuiz(ms: number) {
  return quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))], closesAt: new Date(Date.now() + ms).toISOString(), attemptsAllowed: 10 });
}

describe('attempts end at their deadline', () => {
  it('are submitted and graded within 5 s of the deadline by the delayed job, with no client', async () => {
    worker = await startAssessmentWorker(h.env, { port: 0 });
    // Keep the sweep out of it: this is the job's path.
    await worker.runtime.sweep.stop();
    const quizId = await closingQuiz(3000);
    const attempt = await start(h, org.learner, quizId);
    await ok(h, org.learner, M.save, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    const done = await until(() => row(attempt.id), (r) => r.status === 'GRADED');
    expect(done.auto_submitted).toBe(true);
    expect(done.lag_ms).toBeGreaterThanOrEqual(0);
    expect(done.lag_ms).toBeLessThan(5000);
    const seen = await ok(h, org.learner, `query($id: ID!) { attempt(id: $id) { status autoSubmitted score } }`, { id: attempt.id });
    expect(seen.attempt).toEqual({ status: 'GRADED', autoSubmitted: true, score: 1 });
  });

  it('also when the worker was restarted between the start and the deadline', async () => {
    await worker!.close();
    worker = undefined;
    const quizId = await closingQuiz(3000);
    const attempt = await start(h, org.learner2, quizId);
    worker = await startAssessmentWorker(h.env, { port: 0 });
    await worker.runtime.sweep.stop();
    const done = await until(() => row(attempt.id), (r) => r.status === 'GRADED');
    expect(done.auto_submitted).toBe(true);
    expect(done.lag_ms).toBeLessThan(5000);
  });

  it('grades a class whose attempts share a deadline together, each once', async () => {
    const quizId = await closingQuiz(3000);
    const attempts = await Promise.all([org.learner, org.learner2, org.learnerB].map((who) => start(h, who, quizId)));
    const done = await until(async () => Promise.all(attempts.map((a) => row(a.id))), (rows) => rows.every((r) => r.status === 'GRADED'));
    expect(done.every((r) => r.auto_submitted && r.lag_ms! < 5000)).toBe(true);
    const uuids = attempts.map((a) => uuidOf(a.id));
    const events = await h.admin.query(`select aggregate_id, count(*)::int as n from assessment.outbox where type = 'assessment.AttemptSubmitted' and aggregate_id = any($1) group by 1`, [uuids]);
    expect(events.rows.map((r) => r.n)).toEqual([1, 1, 1]);
    const history = await h.admin.query(`select count(*)::int as n from assessment.grade_changes where attempt_id = any($1::uuid[])`, [uuids]);
    expect(history.rows[0].n).toBe(3);
  });

  it('does not let an attempt that cannot be graded hold back another sharing its deadline', async () => {
    // As in production, the sweep runs beside the jobs (and, like them, must not be held back).
    worker!.runtime.sweep.start(200);
    // The bad attempt's deadline comes first: the good one's job (and the sweep) find it due too.
    const bad = await start(h, org.learner2, await closingQuiz(3000));
    const good = await start(h, org.learner, await closingQuiz(3500));
    // The version the bad attempt showed no longer parses (as if its row were damaged): grading it fails.
    await h.admin.query(
      `update assessment.question_versions set definition = '{"type":"BROKEN"}' where id = (select version_id from assessment.attempt_items where attempt_id = $1 and position = 1)`,
      [uuidOf(bad.id)],
    );
    const done = await until(() => row(good.id), (r) => r.status === 'GRADED');
    expect(done.lag_ms).toBeLessThan(5000);
    expect((await row(bad.id)).status).toBe('IN_PROGRESS');
    // Out of the way of the tests after this one.
    await h.admin.query(`update assessment.attempts set status = 'SUBMITTED' where id = $1`, [uuidOf(bad.id)]);
    await h.admin.query(`delete from assessment.open_attempt_deadlines where attempt_id = $1`, [uuidOf(bad.id)]);
    await worker!.runtime.sweep.stop();
  });

  it('and by the sweep when Redis lost the job', async () => {
    const quizId = await closingQuiz(3000);
    const attempt = await start(h, org.learnerB, quizId);
    // Redis lost every job (a flush, a failover without persistence).
    await worker!.deps.queues(jobQueueName('assessment')).obliterate({ force: true });
    worker!.runtime.sweep.start(200);
    const done = await until(() => row(attempt.id), (r) => r.status === 'GRADED');
    expect(done.auto_submitted).toBe(true);
    expect(done.lag_ms).toBeLessThan(5000);
    const { rows } = await h.admin.query('select count(*)::int as n from assessment.open_attempt_deadlines where attempt_id = $1', [uuidOf(attempt.id)]);
    expect(rows[0].n).toBe(0);
  });
});

describe('events', () => {
  it('applies a LearnerEnrolled from events-assessment once, even delivered twice', async () => {
    const learnerId = randomUUID();
    const enrollmentId = randomUUID();
    const event = envelope(LearnerEnrolled, {
      tenantId: org.tenantId,
      aggregateId: enrollmentId,
      payload: { enrollmentId, learnerId, offeringId: org.offeringId, cohortId: org.cohortA, courseId: org.courseId, courseVersionId: randomUUID(), promotedFromWaitlist: false },
    });
    const queue = worker!.deps.queues(eventQueueName('assessment'));
    await queue.add(event.type, event, { jobId: event.id });
    expect((await settled(queue, event.id)).state).toBe('completed');
    await queue.add(event.type, event, { jobId: `${event.id}-again` });
    const again = await settled(queue, `${event.id}-again`);
    expect(again.job.returnvalue).toBe('duplicate');
    const { rows } = await h.admin.query('select status, course_id from assessment.roster_enrollments where enrollment_id = $1', [enrollmentId]);
    expect(rows).toEqual([{ status: 'ACTIVE', course_id: org.courseId }]);
  });

  it('relays QuizPassed to events-learning', async () => {
    const quizId = await quiz(h, org, { questionIds: [await question(h, org.instructor, bankId, choice('Q'))] });
    const attempt = await start(h, org.learner, quizId);
    await ok(h, org.learner, M.submit, { input: { attemptId: attempt.id, answers: [{ position: 1, choiceIds: ['a'] }], idempotencyKey: idem() } });
    const published = await until(
      async () => (await h.admin.query(`select id from assessment.outbox where type = 'assessment.QuizPassed' and aggregate_id = $1 and published_at is not null`, [uuidOf(attempt.id)])).rows[0]?.id as string | undefined,
    );
    const job = await worker!.deps.queues(eventQueueName('learning')).getJob(published);
    expect(job?.data).toMatchObject({ type: 'assessment.QuizPassed', tenantId: org.tenantId, payload: { attemptId: uuidOf(attempt.id), quizId: uuidOf(quizId), learnerId: org.learner.userId, score: 1 } });
  });
});
