// The operator view of Lectern's background work: job counts and dead letters of every queue
// (packages/contracts/src/queues.ts: events-<consumer> for each consuming context, and the
// job queues), which an ORG_ADMIN or SUPER_ADMIN may replay.
//
// A dead letter is a job that failed for good (its attempts exhausted, or an unrecoverable
// error): BullMQ keeps it in its queue's failed set, with its payload, last error and attempts,
// until retention removes it. The queues are shared by every organization; a letter belongs to
// the organization its payload names (`tenantId` of an event envelope or a job payload):
//   - an ORG_ADMIN sees their organization's letters;
//   - a SUPER_ADMIN sees those of the organization they are signed in to (if any) plus the
//     letters of no organization (bad envelopes); another organization's need signing in to it.
// Replaying a letter moves the very job back to its queue with fresh attempts (same job id, so
// an event consumer still applies the event once and a roster import resumes from the rows
// left). Each replay is recorded in dead_letter_replays (who, when, how often), under RLS like
// the letters: a second replay of the same letter answers DEAD_LETTER_ALREADY_REPLAYED until
// the job fails again and is a dead letter anew.
import type { Job, Queue } from 'bullmq';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import {
  badInput,
  idempotentWrite,
  inTenant,
  parseGlobalId,
  globalId,
  pageRequest,
  serviceUnavailable,
  toConnection,
  type Actor,
  type Connection,
  type PageArgs,
  type UnitOfWork,
} from '@lectern/kernel';
import type { QueueFactory } from '@lectern/kernel/queues';
import { isQueue, QUEUES } from '@lectern/contracts/queues';
import { requireOperator } from '../../access.ts';
import { notificationError, type NotificationError } from '../../errors.ts';
import { recordReplay, replaysOf, type ReplayRecord } from './operator.store.ts';

/** The operator view itself carries nothing: its fields are resolved by this service. */
export type OperatorView = Record<string, never>;

/** A page of dead letters as codegen maps DeadLetterConnection. */
export type DeadLetterConnection = Connection<DeadLetter>;

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
/** Failed jobs read per queue and request (newest first); older ones are not listed. */
export const SCAN_LIMIT = 5000;
const SCAN_CHUNK = 500;

export interface QueueCounts {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/** A job that failed for good, as the operator view shows it. */
export interface DeadLetter {
  queue: string;
  jobId: string;
  jobName: string;
  /** The organization the job's payload names; null for none. */
  tenantId: string | null;
  error: string;
  attempts: number;
  failedAt: Date | string;
  replayedAt: Date | string | null;
  replayCount: number;
}

export interface DeadLetterFilter {
  queues?: string[] | null;
  jobName?: string | null;
}

/** What replayDeadLetter stores as its idempotent result: the letter as replayed, or why not. */
export interface ReplayResult {
  deadLetter: DeadLetter | null;
  errors: NotificationError[];
}

/** The global id of a dead letter: its queue and BullMQ job id (base64url: job ids may hold ':'). */
export const deadLetterId = (queue: string, jobId: string) => globalId('DeadLetter', queue, Buffer.from(jobId, 'utf8').toString('base64url'));

/** Queue and job id inside a DeadLetter id, or null when it is not one (or names no Lectern queue). */
export function parseDeadLetterId(id: unknown): { queue: string; jobId: string } | null {
  const parsed = parseGlobalId(id);
  if (!parsed || parsed.type !== 'DeadLetter' || parsed.keys.length !== 2) return null;
  const [queue, encoded] = parsed.keys as [string, string];
  if (!isQueue(queue) || !/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  const jobId = Buffer.from(encoded, 'base64url').toString('utf8');
  return jobId && deadLetterId(queue, jobId) === id ? { queue, jobId } : null;
}

/** The organization a job's payload names (events and jobs both carry `tenantId`), or null. */
export function tenantOfJob(data: unknown): string | null {
  const t = (data as { tenantId?: unknown } | null)?.tenantId;
  return typeof t === 'string' && /^[0-9a-f-]{36}$/i.test(t) ? t.toLowerCase() : null;
}

/** List order: newest failure first, then queue and job id (descending), so pages are stable. */
function compare(a: DeadLetter, b: DeadLetter): number {
  const t = new Date(b.failedAt).getTime() - new Date(a.failedAt).getTime();
  if (t !== 0) return t;
  if (a.queue !== b.queue) return a.queue < b.queue ? 1 : -1;
  return a.jobId === b.jobId ? 0 : a.jobId < b.jobId ? 1 : -1;
}

const cursorOf = (l: DeadLetter): (string | number)[] => [new Date(l.failedAt).getTime(), l.queue, l.jobId];

function letterOf(queue: string, job: Job, replay: ReplayRecord | undefined): DeadLetter {
  return {
    queue,
    jobId: job.id!,
    jobName: job.name,
    tenantId: tenantOfJob(job.data),
    error: job.failedReason ?? '',
    attempts: job.attemptsMade,
    failedAt: new Date(job.finishedOn ?? job.processedOn ?? job.timestamp),
    replayedAt: replay?.replayedAt ?? null,
    replayCount: replay?.replayCount ?? 0,
  };
}

const keyOf = (queue: string, jobId: string) => `${queue}\u0000${jobId}`;

export class OperatorService {
  #actor: Actor;
  #uow: UnitOfWork;
  #orm: MikroORM;
  #queues: QueueFactory;
  #letters: Promise<DeadLetter[]> | undefined;

  constructor(deps: { actor: Actor; uow: UnitOfWork; orm: MikroORM; queues: QueueFactory }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#orm = deps.orm;
    this.#queues = deps.queues;
  }

  /** Authorizes the caller once for the view; its fields call the methods below. */
  view(): OperatorView {
    requireOperator(this.#actor);
    return {};
  }

  /** A SUPER_ADMIN also sees (and replays) the letters of no organization. */
  #visible(tenantId: string | null): boolean {
    if (tenantId === null) return this.#actor.superAdmin;
    return tenantId === this.#actor.tenantId;
  }

  async queueCounts(): Promise<QueueCounts[]> {
    requireOperator(this.#actor);
    try {
      return await Promise.all(
        QUEUES.map(async (queue) => {
          const counts = await this.#queues(queue).getJobCounts(...STATES);
          return { queue, ...Object.fromEntries(STATES.map((s) => [s, counts[s] ?? 0])) } as QueueCounts;
        }),
      );
    } catch {
      throw serviceUnavailable('Background queues');
    }
  }

  /** One queue's counts by its global id; null for those who may not see them or an unknown queue. */
  async queueCountsById(id: string): Promise<QueueCounts | null> {
    const parsed = parseGlobalId(id);
    if (!parsed || parsed.type !== 'QueueCounts' || parsed.keys.length !== 1 || !isQueue(parsed.keys[0]!)) return null;
    try {
      requireOperator(this.#actor);
    } catch {
      return null;
    }
    return (await this.queueCounts()).find((q) => q.queue === parsed.keys[0]) ?? null;
  }

  /** Newest first; filter by queues and job name. */
  async deadLetters(args: PageArgs & { filter?: DeadLetterFilter | null }): Promise<Connection<DeadLetter>> {
    requireOperator(this.#actor);
    const page = pageRequest(args, 3);
    const cursor = page.cursor;
    if (cursor && (typeof cursor[0] !== 'number' || typeof cursor[1] !== 'string' || typeof cursor[2] !== 'string')) {
      throw badInput(`${page.backward ? 'before' : 'after'} is not a valid cursor`, page.backward ? 'before' : 'after');
    }
    const queues = args.filter?.queues ?? null;
    if (queues && !queues.every(isQueue)) throw badInput(`filter.queues names a queue Lectern does not have (it has ${QUEUES.join(', ')})`, 'filter.queues');
    const jobName = args.filter?.jobName ?? null;
    const all = (await this.#visibleLetters()).filter((l) => (!queues || queues.includes(l.queue)) && (!jobName || l.jobName === jobName));
    let rows: DeadLetter[];
    if (!cursor) {
      rows = page.backward ? all.slice(-(page.limit + 1)).reverse() : all.slice(0, page.limit + 1);
    } else {
      const at: DeadLetter = { queue: String(cursor[1]), jobId: String(cursor[2]), failedAt: new Date(Number(cursor[0])) } as DeadLetter;
      rows = page.backward
        ? all.filter((l) => compare(l, at) < 0).slice(-(page.limit + 1)).reverse()
        : all.filter((l) => compare(l, at) > 0).slice(0, page.limit + 1);
    }
    return toConnection(rows, page, cursorOf, () => Promise.resolve(all.length));
  }

  /** One dead letter the caller may see, or null (unknown, replayed since, another organization's). */
  async deadLetter(id: string): Promise<DeadLetter | null> {
    try {
      requireOperator(this.#actor);
    } catch {
      return null; // a refetch by id answers null to those who may not see it
    }
    const ref = parseDeadLetterId(id);
    if (!ref) return null;
    const job = await this.#job(ref.queue, ref.jobId);
    if (!job || !this.#visible(tenantOfJob(job.data)) || !(await this.#isFailed(job))) return null;
    const replays = await this.#replays([{ queue: ref.queue, jobId: ref.jobId, tenantId: tenantOfJob(job.data) }]);
    return letterOf(ref.queue, job, replays.get(keyOf(ref.queue, ref.jobId)));
  }

  /** Moves the letter's job back to its queue with fresh attempts; expected outcomes are payload errors. */
  async replay(input: { id: string; idempotencyKey: string }): Promise<ReplayResult> {
    const actor = this.#actor;
    requireOperator(actor);
    const ref = parseDeadLetterId(input.id);
    if (!ref) throw badInput('id is not a DeadLetter id', 'id');
    const notFound = (): ReplayResult => ({ deadLetter: null, errors: [notificationError('DEAD_LETTER_NOT_FOUND', 'No dead letter of yours has this id', 'id')] });
    const already = (): ReplayResult => ({
      deadLetter: null,
      errors: [notificationError('DEAD_LETTER_ALREADY_REPLAYED', 'This dead letter was replayed already; it is listed again if the job fails again', 'id')],
    });
    return idempotentWrite(this.#uow, actor, 'replayDeadLetter', { id: input.id, idempotencyKey: input.idempotencyKey }, async (em) => {
      const job = await this.#job(ref.queue, ref.jobId);
      const tenantId = job ? tenantOfJob(job.data) : null;
      const recorded = async (): Promise<boolean> => {
        // The job may be gone (completed and removed by retention) after its replay.
        const scopes = [actor.tenantId, ...(actor.superAdmin && actor.tenantId !== null ? [null] : [])];
        for (const scope of scopes) {
          const found = await inTenant(this.#orm, scope, async (uow) => replaysOf(await uow.em(), scope, [ref]));
          if (found.length) return true;
        }
        return false;
      };
      if (!job || !this.#visible(tenantId)) return (await recorded()) ? already() : notFound();
      if (!(await this.#isFailed(job))) return (await recorded()) ? already() : notFound();
      const before = letterOf(ref.queue, job, undefined);
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } catch {
        // Another replay moved it first (BullMQ checks the failed state atomically); else Redis failed.
        if (!(await this.#isFailed(job))) return already();
        throw serviceUnavailable('Background queues');
      }
      const record = { queue: ref.queue, jobId: ref.jobId, tenantId, replayedBy: actor.userId };
      const replay =
        tenantId === actor.tenantId ? await recordReplay(em, record) : await inTenant(this.#orm, null, (uow) => uow.write((tem) => recordReplay(tem, record)));
      return { deadLetter: { ...before, replayCount: replay.replayCount, replayedAt: replay.replayedAt }, errors: [] };
    });
  }

  async #job(queue: string, jobId: string): Promise<Job | null> {
    try {
      return (await this.#queues(queue).getJob(jobId)) ?? null;
    } catch {
      throw serviceUnavailable('Background queues');
    }
  }

  async #isFailed(job: Job): Promise<boolean> {
    try {
      return await job.isFailed();
    } catch {
      throw serviceUnavailable('Background queues');
    }
  }

  /** Every dead letter the caller may see, in list order (read once per request). */
  #visibleLetters(): Promise<DeadLetter[]> {
    this.#letters ??= (async () => {
      let jobs: { queue: string; job: Job }[];
      try {
        jobs = (await Promise.all(QUEUES.map(async (queue) => (await failedJobs(this.#queues(queue))).map((job) => ({ queue, job }))))).flat();
      } catch {
        throw serviceUnavailable('Background queues');
      }
      const mine = jobs.filter(({ job }) => job.id && this.#visible(tenantOfJob(job.data)));
      const replays = await this.#replays(mine.map(({ queue, job }) => ({ queue, jobId: job.id!, tenantId: tenantOfJob(job.data) })));
      return mine.map(({ queue, job }) => letterOf(queue, job, replays.get(keyOf(queue, job.id!)))).sort(compare);
    })();
    return this.#letters;
  }

  /** Replay records of `letters`, read in their organization (the caller's) or in none. */
  async #replays(letters: { queue: string; jobId: string; tenantId: string | null }[]): Promise<Map<string, ReplayRecord>> {
    const result = new Map<string, ReplayRecord>();
    const ofTenant = letters.filter((l) => l.tenantId !== null);
    const tenantless = letters.filter((l) => l.tenantId === null);
    const read = async (em: EntityManager, tenantId: string | null, list: typeof letters) => {
      for (const r of await replaysOf(em, tenantId, list)) result.set(keyOf(r.queue, r.jobId), r);
    };
    if (ofTenant.length) await read(await this.#uow.em(), this.#uow.tenantId, ofTenant);
    if (tenantless.length) await inTenant(this.#orm, null, async (uow) => read(await uow.em(), null, tenantless));
    return result;
  }
}

/** The failed jobs of a queue, newest first, at most SCAN_LIMIT. */
async function failedJobs(queue: Queue): Promise<Job[]> {
  const jobs: Job[] = [];
  for (let start = 0; start < SCAN_LIMIT; start += SCAN_CHUNK) {
    const chunk = ((await queue.getFailed(start, start + SCAN_CHUNK - 1)) as (Job | undefined)[]).filter((j): j is Job => Boolean(j));
    jobs.push(...chunk);
    if (chunk.length < SCAN_CHUNK) break;
  }
  return jobs;
}

/** A reference to identity's Organization (only its id here). */
export interface OrganizationRef {
  __typename: 'Organization';
  id: string;
}
