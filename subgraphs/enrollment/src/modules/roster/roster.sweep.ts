// Recovery without restarts: roster imports are accepted into PostgreSQL (listed in
// unfinished_roster_imports until they finish or fail for good); their BullMQ job is only the
// means to run them. The job can be missing: importRoster could not reach Redis, or Redis
// lost its data (restart without persistence, flush, failover) while the import was QUEUED or
// RUNNING. The worker sweeps every few seconds and adds the job of every unfinished import
// again. The job id is the import id, so an import whose job is still there (waiting, active,
// retrying) keeps that one job: BullMQ ignores the add. While Redis is down a sweep waits for
// it (the worker's connection queues commands) and the next sweep starts once it is done.
import type { Queue } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '@lectern/kernel';
import { enqueue } from '@lectern/kernel/consumers';
import { periodic, type Periodic } from '@lectern/kernel/periodic';
import { importRosterJob } from './import-roster.job.ts';

/** At most this many imports a sweep (oldest first); the next sweep takes the rest. */
const SWEEP_LIMIT = 1000;

export type RosterSweep = Periodic;

export function rosterSweep(deps: { orm: MikroORM; queue: Queue; log: Logger }): RosterSweep {
  return periodic('roster import sweep', deps.log, async (stopping) => {
    // Ids only, across organizations (no tenant here): see unfinished_roster_imports.
    const rows = await deps.orm.em.fork().execute<{ import_id: string; organization_id: string }[]>(
      'select import_id, organization_id from unfinished_roster_imports order by queued_at limit ?',
      [SWEEP_LIMIT],
    );
    for (const r of rows) {
      if (stopping()) break;
      await enqueue(deps.queue, importRosterJob.def, { tenantId: r.organization_id, importId: r.import_id }, { jobId: r.import_id });
    }
    return rows.length;
  });
}
