// The import-roster job: processes an import's PENDING rows in batches of BATCH_SIZE, each in
// its own short transaction (resolve the people through identity first, then enroll with the
// seat logic, record each row's outcome and the import's counters). A job that dies mid-way
// loses only its open batch and resumes from the PENDING rows; re-running a finished import
// finds none and changes nothing. A job that fails for good (every attempt, e.g. identity
// unreachable for minutes) marks the import FAILED with a reason people can read; replaying
// its dead letter resumes it from its PENDING rows.
import { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { idOf, inTenant, isUuid } from '@lectern/kernel';
import { defineJob, type JobDefinition } from '@lectern/kernel/consumers';
import { enrollMany, loadCohort, type BatchOutcome } from '../enrollment/enrollment.store.ts';
import type { Remote } from '../remote/remote.ts';
import { addToCounters, deleteUnfinished, markCompleted, markFailed, pendingRows, recordRowOutcomes, reinsertUnfinished, startImport } from './roster.store.ts';

export const IMPORT_ROSTER = 'import-roster';
export const BATCH_SIZE = 200;

const payload = z.object({ tenantId: z.string().uuid(), importId: z.string().uuid() });

/** The definition (payload schema) producers validate against; `importRosterJob.with(...)` gives the runnable job. */
export const importRosterJob = {
  def: defineJob({ queue: 'enrollment', name: IMPORT_ROSTER, payload, run: () => Promise.reject(new Error('producer-side definition')) }),
  with(deps: { orm: MikroORM; remote: Remote; batchSize?: number }): JobDefinition {
    return defineJob({
      queue: 'enrollment',
      name: IMPORT_ROSTER,
      payload,
      run: ({ data, job }) => runImport(deps, data, (p) => job.updateProgress(p)),
      failed: async ({ uow, data, attempts }) => importFailed(await uow.em(), data, attempts),
    });
  },
};

export async function runImport(
  deps: { orm: MikroORM; remote: Remote; batchSize?: number },
  { tenantId, importId }: z.infer<typeof payload>,
  progress: (p: { processed: number; total: number }) => Promise<unknown> = async () => {},
): Promise<{ processed: number; total: number }> {
  const { orm, remote } = deps;
  // Started, or resumed (after a FAILED run, by the replay of its dead letter).
  const started = await inTenant(orm, tenantId, async (uow) => {
    const em = await uow.em();
    const r = await startImport(em, tenantId, importId);
    if (r?.was === 'FAILED') {
      await reinsertUnfinished(em, tenantId, importId);
    }
    return r;
  });
  // Not visible yet: the creating request has not committed; BullMQ retries shortly.
  if (!started) throw new Error(`roster import ${importId} not found (yet)`);
  if (started.status === 'COMPLETED') return { processed: started.processed, total: started.total };
  let processed = started.processed;
  for (;;) {
    const rows = await inTenant(orm, tenantId, async (uow) =>
      pendingRows(await uow.em(), tenantId, importId, deps.batchSize ?? BATCH_SIZE),
    );
    if (!rows.length) break;
    // Outside any transaction: identity answers for the whole batch in one call.
    const emails = rows.filter((r) => r.kind === 'EMAIL').map((r) => r.identifier);
    // User-id rows name a User global id (as clients send them); identity knows UUIDs.
    // (Rows stored before global ids hold the UUID itself.)
    const userIdOf = new Map(rows.filter((r) => r.kind === 'USER_ID').map((r) => [r.identifier, idOf(r.identifier, 'User') ?? (isUuid(r.identifier) ? r.identifier.toLowerCase() : null)]));
    const userIds = [...new Set([...userIdOf.values()].filter((id): id is string => id !== null))];
    const members = await remote.members(tenantId, { emails, userIds });
    const byEmail = new Map(members.map((m) => [m.email.toLowerCase(), m.userId]));
    const byId = new Set(members.map((m) => m.userId));
    processed = await inTenant(orm, tenantId, async (uow) => {
      const em = await uow.em();
      const cohort = await loadCohort(em, tenantId, started.cohortId);
      if (!cohort) throw new Error(`cohort ${started.cohortId} of roster import ${importId} is gone`);
      const outcome = new Map<number, { status: string; reason: string | null; enrollmentId: string | null }>();
      const firstRowOf = new Map<string, number>();
      const learners: string[] = [];
      const ended = new Date() >= cohort.endsAt;
      for (const r of rows) {
        const uuid = r.kind === 'USER_ID' ? userIdOf.get(r.identifier) : null;
        const learnerId = r.kind === 'EMAIL' ? byEmail.get(r.identifier) : uuid && byId.has(uuid) ? uuid : undefined;
        if (!learnerId) outcome.set(r.rowNumber, { status: 'REJECTED', reason: 'not an active member of the organization', enrollmentId: null });
        else if (ended) outcome.set(r.rowNumber, { status: 'REJECTED', reason: 'the offering has ended', enrollmentId: null });
        else if (firstRowOf.has(learnerId)) outcome.set(r.rowNumber, { status: 'REJECTED', reason: `duplicate of row ${firstRowOf.get(learnerId)}`, enrollmentId: null });
        else {
          firstRowOf.set(learnerId, r.rowNumber);
          learners.push(learnerId);
        }
      }
      const seated: Map<string, BatchOutcome> = await enrollMany(em, tenantId, cohort, learners, started.createdBy);
      for (const [learnerId, o] of seated) {
        outcome.set(firstRowOf.get(learnerId)!, o.status === 'REJECTED' ? { status: 'REJECTED', reason: o.reason, enrollmentId: null } : { status: o.status, reason: null, enrollmentId: o.enrollmentId });
      }
      const list = [...outcome.entries()];
      const nums = list.map(([n]) => n);
      const statuses = list.map(([, o]) => o.status);
      const reasons = list.map(([, o]) => o.reason);
      const enrollments = list.map(([, o]) => o.enrollmentId);
      await recordRowOutcomes(em, tenantId, importId, { rowNumbers: nums, statuses, reasons, enrollmentIds: enrollments });
      const count = (s: string) => statuses.filter((x) => x === s).length;
      const counters = await addToCounters(em, tenantId, importId, {
        processed: list.length,
        enrolled: count('ENROLLED') + count('WAITLISTED'),
        alreadyEnrolled: count('ALREADY_ENROLLED'),
        rejected: count('REJECTED'),
      });
      return counters!.processed;
    });
    await progress({ processed, total: started.total });
  }
  await inTenant(orm, tenantId, async (uow) => {
    const em = await uow.em();
    await markCompleted(em, tenantId, importId);
    await deleteUnfinished(em, importId);
  });
  await progress({ processed, total: started.total });
  return { processed, total: started.total };
}

/**
 * The import's job failed for good: FAILED with why, in words for the people who started it
 * (the error itself, which may name internals, is in the dead letter operators see).
 */
async function importFailed(em: EntityManager, { tenantId, importId }: z.infer<typeof payload>, attempts: number) {
  await markFailed(em, tenantId, importId, attempts);
  // Not re-enqueued at the next start: it waits for the replay of its dead letter.
  await deleteUnfinished(em, importId);
}
