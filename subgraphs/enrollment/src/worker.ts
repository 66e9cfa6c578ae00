// The enrollment worker process: relays enrollment's outbox to the contexts that subscribe to
// its events, consumes learning's CourseCompleted (events-enrollment) and runs roster imports
// (jobs-enrollment). At start it re-enqueues imports left unfinished.
// `node subgraphs/enrollment/src/worker.ts` runs it; importing this file only defines it.
import { enqueue } from '@lectern/kernel/consumers';
import { jobQueueName, runWorker, type WorkerDefinition } from '@lectern/kernel/worker';
import { ENROLLMENT } from '@lectern/contracts/enrollment';
import { routes } from '@lectern/contracts/subscriptions';
import { loadEnv, type EnrollmentEnv } from './env.ts';
import { entities } from './subgraph.ts';
import { migrations } from './migrations/index.ts';
import { courseCompletedHandler } from './modules/enrollment/completion.handler.ts';
import { remoteContexts } from './modules/remote/remote.ts';
import { importRosterJob } from './modules/roster/import-roster.job.ts';

export const enrollmentWorker: WorkerDefinition<EnrollmentEnv> = {
  name: ENROLLMENT,
  entities,
  migrations,
  routes,
  handlers: () => [courseCompletedHandler],
  jobs: (deps) => [importRosterJob.with({ orm: deps.orm, remote: remoteContexts(deps.env) })],
  async init(deps) {
    // Ids only, across organizations (no tenant here): see unfinished_roster_imports.
    const rows = await deps.orm.em.fork().execute<{ import_id: string; organization_id: string }[]>(
      'select import_id, organization_id from unfinished_roster_imports order by queued_at',
    );
    const queue = deps.queues(jobQueueName(ENROLLMENT));
    for (const r of rows) await enqueue(queue, importRosterJob.def, { tenantId: r.organization_id, importId: r.import_id }, { jobId: r.import_id });
    if (rows.length) deps.log.info({ imports: rows.length }, 'unfinished roster imports re-enqueued');
  },
};

if (import.meta.main) await runWorker(enrollmentWorker, loadEnv());
