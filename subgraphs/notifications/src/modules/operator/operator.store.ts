// The operator module's raw SQL: the record of dead-letter replays. Every statement names the
// tenant itself (tenant_id is not distinct from the unit of work's: null for letters of no
// organization); RLS is the second layer.
import type { EntityManager } from '@mikro-orm/postgresql';
import { timestamp } from '@lectern/kernel/rows';

export interface ReplayRecord {
  queue: string;
  jobId: string;
  replayCount: number;
  replayedAt: Date;
}

type ReplayRow = Record<'queue' | 'job_id' | 'replay_count' | 'replayed_at', unknown>;

const toRecord = (r: ReplayRow): ReplayRecord => ({ queue: String(r.queue), jobId: String(r.job_id), replayCount: Number(r.replay_count), replayedAt: timestamp(r.replayed_at) });

/** The replay records of `letters` visible to the unit of work. */
export async function replaysOf(em: EntityManager, tenantId: string | null, letters: readonly { queue: string; jobId: string }[]): Promise<ReplayRecord[]> {
  if (letters.length === 0) return [];
  const rows = await em.execute<ReplayRow[]>(
    `select r.queue, r.job_id, r.replay_count, r.replayed_at
       from dead_letter_replays r
       join jsonb_to_recordset(?::jsonb) as l(queue text, job_id text) on l.queue = r.queue and l.job_id = r.job_id
      where r.tenant_id is not distinct from ?::uuid`,
    [JSON.stringify(letters.map((l) => ({ queue: l.queue, job_id: l.jobId }))), tenantId],
  );
  return rows.map(toRecord);
}

/** Records one more replay of a letter (the first inserts its row); returns the record. */
export async function recordReplay(
  em: EntityManager,
  r: { queue: string; jobId: string; tenantId: string | null; replayedBy: string | null },
): Promise<ReplayRecord> {
  const [row] = await em.execute<ReplayRow[]>(
    `insert into dead_letter_replays (queue, job_id, tenant_id, replayed_by) values (?, ?, ?, ?)
       on conflict (queue, job_id) do update set replay_count = dead_letter_replays.replay_count + 1, replayed_at = now(), replayed_by = excluded.replayed_by
     returning queue, job_id, replay_count, replayed_at`,
    [r.queue, r.jobId, r.tenantId, r.replayedBy],
  );
  return toRecord(row!);
}
