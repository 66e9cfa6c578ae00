// Presence as the rest of live sees it: leases started at admission (one per subscription on
// a session), renewed and released by whoever holds the subscriber (the gateway, or the
// kernel's own WebSocket server), and swept when they expire. Each transition (absent →
// present, present → absent) opens or closes the person's attendance interval (only while the
// session is LIVE) in their organization's unit of work and is published as PresenceChanged.
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant } from '@lectern/kernel';
import type { Logger } from '@lectern/kernel';
import type { Publisher } from '../realtime/events.ts';
import { closeIntervals, lockPeople, openIntervals, stillAllowed } from '../session/session.store.ts';
import type { PresenceStore, PresenceTransition } from './presence.store.ts';

/** The kernel's lease contract (packages/kernel/src/subscriptions.ts LeaseHandler). */
export interface Leases {
  ttlSeconds: number;
  renew(ids: string[]): Promise<string[]>;
  release(ids: string[]): Promise<void>;
}

export class PresenceService implements Leases {
  readonly ttlSeconds: number;
  #orm: MikroORM;
  #store: PresenceStore;
  #publisher: Publisher;
  #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #warned = 0;

  constructor(deps: { orm: MikroORM; store: PresenceStore; publisher: Publisher; log: Logger }) {
    this.#orm = deps.orm;
    this.#store = deps.store;
    this.#publisher = deps.publisher;
    this.#log = deps.log;
    this.ttlSeconds = deps.store.ttlSeconds;
  }

  /** Starts a lease of `userId` in the session (the admission's lease). */
  /** Starts a lease of `userId` in the session; `byRoster`: admitted as its learner or instructor (not by role). */
  async join(leaseId: string, tenantId: string, sessionId: string, userId: string, byRoster = false): Promise<void> {
    const t = await this.#store.join(leaseId, tenantId, sessionId, userId, byRoster);
    if (t) await this.#apply([t]);
  }

  /**
   * Extends these leases; answers the ids no longer held, whose subscribers the gateway admits
   * again: those that expired, and those of people the roster no longer lets see the session
   * (dropped, moved to another cohort, no longer teaching it). Those are ended here, so they
   * leave at once, and their new admission is refused like a missing session. Admission checked
   * the roster when they subscribed; this checks it again at every renewal (TTL/3), in one
   * statement per organization.
   */
  async renew(ids: string[]): Promise<string[]> {
    const unknown = await this.#store.renew(ids);
    const gone = new Set(unknown);
    const holders = await this.#store.rosterHolders(ids.filter((id) => !gone.has(id)));
    const byTenant = new Map<string, typeof holders>();
    for (const h of holders) (byTenant.get(h.tenantId) ?? byTenant.set(h.tenantId, []).get(h.tenantId)!).push(h);
    const revoked: string[] = [];
    for (const [tenantId, list] of byTenant) {
      const allowed = await inTenant(this.#orm, tenantId, (uow) => stillAllowed(uow, tenantId, list));
      for (const h of list) if (!allowed.has(`${h.sessionId}:${h.userId}`)) revoked.push(h.id);
    }
    if (revoked.length) await this.release(revoked);
    return [...unknown, ...revoked];
  }

  async release(ids: string[]): Promise<void> {
    await this.#apply(await this.#store.release(ids));
  }

  /** Ends the leases that expired; resolves when their transitions are recorded and published. */
  async sweepOnce(): Promise<number> {
    let n = 0;
    for (;;) {
      const ts = await this.#store.sweep();
      await this.#apply(ts);
      n += ts.length;
      if (ts.length < 500) return n;
    }
  }

  /** Sweeps every `intervalMs` (unref'd: never keeps the process alive). */
  start(intervalMs: number): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = this.sweepOnce()
        .then(() => undefined)
        .catch((err: unknown) => {
          // Redis or PostgreSQL away: said once every 10 s, retried every tick.
          if (Date.now() - this.#warned > 10_000) this.#log.warn({ err }, 'presence sweep failed; retrying');
          this.#warned = Date.now();
        })
        .finally(() => (this.#sweeping = undefined));
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }

  participants(tenantId: string, sessionIds: readonly string[]) {
    return this.#store.participants(tenantId, sessionIds);
  }

  presentUsers(tenantId: string, sessionId: string) {
    return this.#store.presentUsers(tenantId, sessionId);
  }

  /**
   * Records and publishes transitions, one transaction per session: a gateway that dies takes
   * thousands of leases with it, and their leaves land in one sweep.
   */
  async #apply(transitions: PresenceTransition[]): Promise<void> {
    const bySession = new Map<string, PresenceTransition[]>();
    for (const t of transitions) {
      const key = `${t.tenantId}:${t.sessionId}`;
      (bySession.get(key) ?? bySession.set(key, []).get(key)!).push(t);
    }
    for (const list of bySession.values()) {
      const { tenantId, sessionId } = list[0]!;
      const users = [...new Set(list.map((t) => t.userId))].sort();
      const at = new Date(Math.max(...list.map((t) => t.at.getTime())));
      try {
        await inTenant(this.#orm, tenantId, (uow) =>
          uow.write(async (em) => {
            // Transitions of one person may be applied out of order (two replicas, a join racing
            // a sweep): serialised per person, each applies what Redis says now, so the last one
            // leaves the interval matching the person's presence.
            await lockPeople(em, tenantId, sessionId, users);
            const present = await this.#store.presentAmong(tenantId, sessionId, users);
            await openIntervals(em, tenantId, sessionId, users.filter((u) => present.has(u)), at);
            await closeIntervals(em, tenantId, sessionId, users.filter((u) => !present.has(u)), at);
          }),
        );
      } catch (err) {
        this.#log.error({ err, sessionId, people: users.length }, 'could not record attendance intervals');
      }
      await Promise.all(list.map((t) => this.#publisher.publish(t.tenantId, { type: 'PresenceChanged', sessionId: t.sessionId, userId: t.userId, present: t.present, at: t.at.toISOString() })));
    }
  }
}
