// The import-roster job: processes an import's PENDING rows in batches of BATCH_SIZE, each in
// its own short transaction (resolve the people through identity first, then enroll with the
// seat logic, record each row's outcome and the import's counters). A job that dies mid-way
// loses only its open batch and resumes from the PENDING rows; re-running a finished import
// finds none and changes nothing. A job that fails for good (every attempt, e.g. identity
// unreachable for minutes) marks the import FAILED with a reason people can read; replaying
// its dead letter resumes it from its PENDING rows.
import { z } from 'zod';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { inTenant } from '@lectern/kernel';
import { defineJob, type JobDefinition } from '@lectern/kernel/consumers';
import { sqlArray as arr } from '@lectern/kernel/orm';
import { enrollMany, loadCohort, type BatchOutcome } from '../enrollment/enrollment.store.ts';
import type { Remote } from '../remote/remote.ts';

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
      failed: async ({ uow, data, attempts }) => markFailed(await uow.em(), data, attempts),
    });
  },
};

interface Pending {
  row_number: number;
  identifier: string;
  kind: 'EMAIL' | 'USER_ID';
}

export async function runImport(
  deps: { orm: MikroORM; remote: Remote; batchSize?: number },
  { tenantId, importId }: z.infer<typeof payload>,
  progress: (p: { processed: number; total: number }) => Promise<unknown> = async () => {},
): Promise<{ processed: number; total: number }> {
  const { orm, remote } = deps;
  // Started, or resumed (after a FAILED run, by the replay of its dead letter).
  const started = await inTenant(orm, tenantId, async (uow) => {
    const em = await uow.em();
    const [r] = await em.execute<{ cohort_id: string; status: string; was: string; created_by: string | null; total: number; processed: number }[]>(
      `update roster_imports i set status = case when i.status = 'COMPLETED' then i.status else 'RUNNING' end,
              failure = case when i.status = 'COMPLETED' then i.failure end, finished_at = case when i.status = 'COMPLETED' then i.finished_at end, updated_at = now()
         from roster_imports was where was.tenant_id = i.tenant_id and was.id = i.id and i.tenant_id = ? and i.id = ?
       returning i.cohort_id, i.status, was.status as was, i.created_by, i.total, i.processed`,
      [tenantId, importId],
    );
    if (r?.was === 'FAILED') {
      await em.execute(`insert into unfinished_roster_imports (import_id, organization_id) values (?, ?) on conflict do nothing`, [importId, tenantId]);
    }
    return r;
  });
  // Not visible yet: the creating request has not committed; BullMQ retries shortly.
  if (!started) throw new Error(`roster import ${importId} not found (yet)`);
  if (started.status === 'COMPLETED') return { processed: started.processed, total: started.total };
  let processed = started.processed;
  for (;;) {
    const rows = await inTenant(orm, tenantId, async (uow) =>
      (await uow.em()).execute<Pending[]>(
        `select row_number, identifier, kind from roster_import_rows where tenant_id = ? and import_id = ? and status = 'PENDING' order by row_number limit ?`,
        [tenantId, importId, deps.batchSize ?? BATCH_SIZE],
      ),
    );
    if (!rows.length) break;
    // Outside any transaction: identity answers for the whole batch in one call.
    const emails = rows.filter((r) => r.kind === 'EMAIL').map((r) => r.identifier);
    const userIds = rows.filter((r) => r.kind === 'USER_ID').map((r) => r.identifier);
    const members = await remote.members(tenantId, { emails, userIds });
    const byEmail = new Map(members.map((m) => [m.email.toLowerCase(), m.userId]));
    const byId = new Set(members.map((m) => m.userId));
    processed = await inTenant(orm, tenantId, async (uow) => {
      const em = await uow.em();
      const cohort = await loadCohort(em, tenantId, started.cohort_id);
      if (!cohort) throw new Error(`cohort ${started.cohort_id} of roster import ${importId} is gone`);
      const outcome = new Map<number, { status: string; reason: string | null; enrollmentId: string | null }>();
      const firstRowOf = new Map<string, number>();
      const learners: string[] = [];
      const ended = new Date() >= cohort.endsAt;
      for (const r of rows) {
        const learnerId = r.kind === 'EMAIL' ? byEmail.get(r.identifier) : byId.has(r.identifier) ? r.identifier : undefined;
        if (!learnerId) outcome.set(r.row_number, { status: 'REJECTED', reason: 'not an active member of the organization', enrollmentId: null });
        else if (ended) outcome.set(r.row_number, { status: 'REJECTED', reason: 'the offering has ended', enrollmentId: null });
        else if (firstRowOf.has(learnerId)) outcome.set(r.row_number, { status: 'REJECTED', reason: `duplicate of row ${firstRowOf.get(learnerId)}`, enrollmentId: null });
        else {
          firstRowOf.set(learnerId, r.row_number);
          learners.push(learnerId);
        }
      }
      const seated: Map<string, BatchOutcome> = await enrollMany(em, tenantId, cohort, learners, started.created_by);
      for (const [learnerId, o] of seated) {
        outcome.set(firstRowOf.get(learnerId)!, o.status === 'REJECTED' ? { status: 'REJECTED', reason: o.reason, enrollmentId: null } : { status: o.status, reason: null, enrollmentId: o.enrollmentId });
      }
      const list = [...outcome.entries()];
      const nums = list.map(([n]) => n);
      const statuses = list.map(([, o]) => o.status);
      const reasons = list.map(([, o]) => o.reason);
      const enrollments = list.map(([, o]) => o.enrollmentId);
      await em.execute(
        `update roster_import_rows r set status = u.status, reason = u.reason, enrollment_id = u.enrollment_id
           from unnest(${arr(nums, 'int')}, ${arr(statuses, 'text')}, ${arr(reasons, 'text')}, ${arr(enrollments, 'uuid')}) as u(n, status, reason, enrollment_id)
          where r.tenant_id = ? and r.import_id = ? and r.row_number = u.n and r.status = 'PENDING'`,
        [...nums, ...statuses, ...reasons, ...enrollments, tenantId, importId],
      );
      const count = (s: string) => statuses.filter((x) => x === s).length;
      const [counters] = await em.execute<{ processed: number }[]>(
        `update roster_imports set processed = processed + ?, enrolled = enrolled + ?, already_enrolled = already_enrolled + ?, rejected = rejected + ?, updated_at = now()
          where tenant_id = ? and id = ? returning processed`,
        [list.length, count('ENROLLED') + count('WAITLISTED'), count('ALREADY_ENROLLED'), count('REJECTED'), tenantId, importId],
      );
      return counters!.processed;
    });
    await progress({ processed, total: started.total });
  }
  await inTenant(orm, tenantId, async (uow) => {
    const em = await uow.em();
    await em.execute(`update roster_imports set status = 'COMPLETED', finished_at = now(), updated_at = now() where tenant_id = ? and id = ?`, [tenantId, importId]);
    await em.execute(`delete from unfinished_roster_imports where import_id = ?`, [importId]);
  });
  await progress({ processed, total: started.total });
  return { processed, total: started.total };
}

/**
 * The import's job failed for good: FAILED with why, in words for the people who started it
 * (the error itself, which may name internals, is in the dead letter operators see).
 */
async function markFailed(em: EntityManager, { tenantId, importId }: z.infer<typeof payload>, attempts: number) {
  await em.execute(
    `update roster_imports set status = 'FAILED', finished_at = now(), updated_at = now(),
            failure = 'The import stopped after ' || ? || ' failed attempts; ' || (total - processed) || ' rows were not processed yet. It resumes from them when an operator replays it.'
      where tenant_id = ? and id = ? and status <> 'COMPLETED'`,
    [attempts, tenantId, importId],
  );
  // Not re-enqueued at the next start: it waits for the replay of its dead letter.
  await em.execute(`delete from unfinished_roster_imports where import_id = ?`, [importId]);
}
