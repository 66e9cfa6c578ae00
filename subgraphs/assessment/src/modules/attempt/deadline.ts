// Attempts end at their deadline whatever the client does.
//
// 1. The precise path: every attempt with a deadline gets a BullMQ delayed job, expire-attempt,
//    due at the deadline (job id `<attempt>-<deadline ms>`, so a moved deadline adds a new job
//    and an old one finds nothing to do). Jobs live in Redis: a worker restarted in between
//    runs them when it is back.
// 2. The safety net: the worker sweeps open_attempt_deadlines every DEADLINE_SWEEP_INTERVAL_MS
//    and expires attempts overdue by more than SWEEP_GRACE_MS, straight through PostgreSQL:
//    a job Redis lost, never got (it was down at the start) or could not run is covered, and
//    attempts end on time even while Redis is down.
// Both run `expireAttempt`: it locks the attempt, and submits and grades it only if it is still
// in progress and its deadline has passed by the database's clock; so whichever comes first
// does it, once.
import { z } from 'zod';
import type { Queue } from 'bullmq';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '@lectern/kernel';
import { defineJob, enqueueOrLeaveToSweep, type JobDefinition } from '@lectern/kernel/consumers';
import { periodic, type Periodic } from '@lectern/kernel/periodic';
import { inTenant, type UnitOfWork } from '@lectern/kernel/uow';
import { jobQueueName } from '@lectern/kernel/worker';
import { ASSESSMENT } from '@lectern/contracts/assessment';
import { lockDue } from './attempt.store.ts';
import { submitAndGrade } from './finalize.ts';
import type { AttemptItemsCache } from './item-cache.ts';

export const EXPIRE_ATTEMPT = 'expire-attempt';

/** How long after a deadline the sweep steps in (the job normally ran by then). */
export const SWEEP_GRACE_MS = 500;
/** A job that finds the deadline this close still ahead waits it out rather than leave it to the sweep. */
const CLOCK_SLACK_MS = 2000;
const SWEEP_LIMIT = 500;

const payload = z.strictObject({ tenantId: z.string().uuid(), attemptId: z.string().uuid() });

/** The definition (payload schema) producers validate against; `expireAttemptJob.with(shown)` gives the runnable job. */
export const expireAttemptJob = {
  def: defineJob({ queue: jobQueueName(ASSESSMENT), name: EXPIRE_ATTEMPT, payload, run: () => Promise.reject(new Error('producer-side definition')) }),
  with(shown: AttemptItemsCache): JobDefinition {
    return defineJob({
      queue: jobQueueName(ASSESSMENT),
      name: EXPIRE_ATTEMPT,
      payload,
      run: async ({ uow, data, log }) => {
        const outcome = await expireAttempt(uow, data.attemptId, shown);
        if (typeof outcome === 'number' && outcome <= CLOCK_SLACK_MS) {
          // Redis's clock ran a little ahead of PostgreSQL's: wait for the deadline, then expire.
          await new Promise((r) => setTimeout(r, outcome + 5));
          return expireAttempt(uow, data.attemptId, shown);
        }
        if (outcome === 'expired') log.info({ attemptId: data.attemptId }, 'attempt submitted at its deadline');
        return outcome;
      },
    });
  },
};

/** At most this many due attempts of one organization are submitted together. */
const EXPIRE_BATCH = 100;

/**
 * Submits and grades the attempt if it is in progress and past its deadline, and with it every
 * other due attempt of the organization it can lock at once (up to EXPIRE_BATCH: a class's
 * attempts expire together, and one transaction grades them set-based). Answers what happened
 * to `attemptId`: 'expired', 'done' (nothing to do: submitted, or no deadline), 'busy' (another
 * transaction holds it), or the milliseconds left before its deadline (it moved, or the clocks
 * differ).
 */
export async function expireAttempt(uow: UnitOfWork, attemptId: string, shown: AttemptItemsCache): Promise<'expired' | 'done' | 'busy' | number> {
  const tenantId = uow.tenantId;
  if (!tenantId) throw new Error('expireAttempt needs an organization');
  return uow.write(async (em) => {
    const expire = (limit: number) =>
      em.transactional(async (tx) => {
        const due = await lockDue(tx as EntityManager, tenantId, attemptId, limit);
        await submitAndGrade(tx as EntityManager, tenantId, due.map((a) => ({ attempt: a, quiz: a.quiz, auto: true })), shown);
        return due;
      });
    // One attempt that cannot be graded (a failure of its own) must not hold back the others'
    // deadlines: when the batch fails (its savepoint rolled back, locks released), this one goes
    // alone, and the others with their own jobs.
    const due = await expire(EXPIRE_BATCH).catch(() => expire(1));
    if (due.some((a) => a.id === attemptId)) return 'expired';
    const [a] = await em.execute<{ status: string; deadline: string | null; left_ms: number | null }[]>(
      `select status, deadline, (extract(epoch from deadline - clock_timestamp()) * 1000)::float8 as left_ms from attempts where tenant_id = ? and id = ?`,
      [tenantId, attemptId],
    );
    if (!a || a.status !== 'IN_PROGRESS' || a.deadline === null) return 'done';
    // Still open: its deadline is ahead (moved, or the clocks differ), or a job holds it now.
    return a.left_ms !== null && a.left_ms > 0 ? Math.max(1, Math.ceil(a.left_ms)) : 'busy';
  });
}

/** Schedules the expire-attempt jobs of attempts whose deadline is set (or moved). */
export interface Deadlines {
  schedule(tenantId: string, attempts: { id: string; deadline: Date | null }[]): Promise<void>;
}

/**
 * The request path's scheduler: adds each job, or leaves the attempt to the sweep (kernel
 * enqueueOrLeaveToSweep: the attempt is already committed with its deadline).
 */
export function deadlineScheduler(queue: Queue, log: Logger): Deadlines {
  return {
    async schedule(tenantId, attempts) {
      for (const a of attempts) {
        if (!a.deadline) continue;
        const due = a.deadline.getTime();
        await enqueueOrLeaveToSweep(queue, expireAttemptJob.def, { tenantId, attemptId: a.id }, { jobId: `${a.id}-${due}`, delay: Math.max(0, due - Date.now()) }, log, { attemptId: a.id });
      }
    },
  };
}

export type DeadlineSweep = Periodic;

/** The worker's sweep (see the header); safe on every replica (the attempt's lock decides). */
export function deadlineSweep(deps: { orm: MikroORM; log: Logger; shown: AttemptItemsCache }): DeadlineSweep {
  return periodic('deadline sweep', deps.log, async (stopping) => {
    // Ids only, across organizations (no tenant here): see open_attempt_deadlines.
    const due = await deps.orm.em.fork().execute<{ attempt_id: string; organization_id: string }[]>(
      `select attempt_id, organization_id from open_attempt_deadlines where deadline < clock_timestamp() - make_interval(secs => ?::numeric / 1000) order by deadline limit ?`,
      [SWEEP_GRACE_MS, SWEEP_LIMIT],
    );
    let expired = 0;
    for (const d of due) {
      if (stopping()) break;
      // An attempt a job is grading right now is left to it ('busy'); one that fails is said and
      // passed over, so it never holds back the attempts after it.
      const outcome = await inTenant(deps.orm, d.organization_id, (uow) => expireAttempt(uow, d.attempt_id, deps.shown)).catch((err: unknown) => {
        deps.log.error({ err, attemptId: d.attempt_id, tenantId: d.organization_id }, 'attempt could not be submitted at its deadline; retrying');
        return 'failed' as const;
      });
      if (outcome === 'expired') {
        expired++;
        deps.log.info({ attemptId: d.attempt_id, tenantId: d.organization_id }, 'attempt submitted at its deadline by the sweep');
      } else if (outcome === 'done') {
        // Submitted meanwhile, or its deadline was lifted: the row has nothing left to say.
        await deps.orm.em.fork().execute(`delete from open_attempt_deadlines where attempt_id = ?`, [d.attempt_id]);
      }
    }
    return expired;
  });
}
