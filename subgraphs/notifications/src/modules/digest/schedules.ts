// One BullMQ job scheduler per organization runs its send-digests job every
// DIGEST_INTERVAL_MINUTES. A scheduler is upserted the first time this process sees an event of
// the organization, and for every organization notifications knows when the worker starts
// (from the `organizations` registry, so a flushed Redis gets them back).
import type { Queue } from 'bullmq';
import type { MikroORM } from '@mikro-orm/postgresql';
import { RETENTION } from '@lectern/kernel/queues';
import { SEND_DIGESTS } from '@lectern/contracts/notifications';
import { registerOrganization, registeredOrganizations } from './digest.store.ts';

export const schedulerId = (tenantId: string) => `digest-${tenantId}`;

export class DigestSchedules {
  #orm: MikroORM;
  #queue: Queue;
  #everyMs: number;
  #known = new Set<string>();

  /** `everyMs` 0 keeps the registry but schedules nothing (tests run the job themselves). */
  constructor(orm: MikroORM, queue: Queue, everyMs: number) {
    this.#orm = orm;
    this.#queue = queue;
    this.#everyMs = everyMs;
  }

  /** Registers the organization and upserts its scheduler, once per process. */
  async ensure(tenantId: string): Promise<void> {
    if (this.#known.has(tenantId)) return;
    // Its own statement, outside the handler's transaction: the registry is not tenant data.
    await registerOrganization(this.#orm.em.fork(), tenantId);
    await this.#upsert(tenantId);
    this.#known.add(tenantId);
  }

  /** Upserts the scheduler of every registered organization; returns how many. */
  async restoreAll(): Promise<number> {
    const rows = await registeredOrganizations(this.#orm.em.fork());
    for (const id of rows) {
      await this.#upsert(id);
      this.#known.add(id);
    }
    return rows.length;
  }

  async #upsert(tenantId: string) {
    if (this.#everyMs <= 0) return;
    await this.#queue.upsertJobScheduler(
      schedulerId(tenantId),
      { every: this.#everyMs },
      {
        name: SEND_DIGESTS,
        data: { tenantId },
        // A failed run is retried a little; the next scheduled run catches up anyway.
        opts: { attempts: 3, backoff: { type: 'exponential', delay: 5000, jitter: 0.5 }, ...RETENTION },
      },
    );
  }
}
