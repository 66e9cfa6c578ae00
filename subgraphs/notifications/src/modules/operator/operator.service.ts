// The operator view of notifications' background work: job counts of its two queues and its
// dead letters, which an ORG_ADMIN or SUPER_ADMIN may replay.
//
// Dead letters are under row-level security like everything else. An ORG_ADMIN sees their
// organization's. A SUPER_ADMIN sees those of the organization they are signed in to (if any)
// plus the letters of no organization (bad envelopes, jobs without a tenant), which only a unit
// of work without a tenant can see; another organization's letters need signing in to it.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  AppError,
  badInput,
  decodeCursor,
  idempotentWrite,
  inTenant,
  isUuid,
  notFound,
  pageSize,
  toConnection,
  type Actor,
  type Connection,
  type PageArgs,
  type UnitOfWork,
} from '@lectern/kernel';
import { deadLetterPage, replayDeadLetter, type DeadLetter } from '@lectern/kernel/consumers';
import { eventQueueName, type QueueFactory } from '@lectern/kernel/queues';
import { jobQueueName } from '@lectern/kernel/worker';
import { requireOperator } from '../../access.ts';
import { NOTIFICATIONS } from '@lectern/contracts/notifications';

export type { DeadLetter };
/** The operator view itself carries nothing: its fields are resolved by this service. */
export type OperatorView = Record<string, never>;

export const OPERATED_QUEUES = [eventQueueName(NOTIFICATIONS), jobQueueName(NOTIFICATIONS)];
const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export interface QueueCounts {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/** What replayDeadLetter stores as its idempotent result. */
export interface ReplayResult {
  deadLetterId: string;
  /** The letter belongs to no organization (found through a unit of work without a tenant). */
  tenantless: boolean;
}

const unavailable = () => new AppError('INTERNAL_SERVER_ERROR', 'Background work is unavailable right now; try again shortly');

export class OperatorService {
  #actor: Actor;
  #uow: UnitOfWork;
  #orm: MikroORM;
  #queues: QueueFactory;

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

  /** A SUPER_ADMIN signed in to an organization also looks where no organization is set. */
  get #alsoTenantless(): boolean {
    return this.#actor.superAdmin && this.#actor.tenantId !== null;
  }

  async queueCounts(): Promise<QueueCounts[]> {
    requireOperator(this.#actor);
    try {
      return await Promise.all(
        OPERATED_QUEUES.map(async (queue) => {
          const counts = await this.#queues(queue).getJobCounts(...STATES);
          return { queue, ...Object.fromEntries(STATES.map((s) => [s, counts[s] ?? 0])) } as QueueCounts;
        }),
      );
    } catch {
      throw unavailable();
    }
  }

  /** Newest first (failed_at desc, id desc). */
  async deadLetters(args: PageArgs): Promise<Connection<DeadLetter>> {
    requireOperator(this.#actor);
    const limit = pageSize(args);
    const after = decodeCursor(args.after, 2);
    if (after && (typeof after[0] !== 'string' || !CURSOR_TIME.test(after[0]) || !isUuid(after[1]))) throw badInput('after is not a valid cursor', 'after');
    const page = (em: EntityManager, tenantId: string | null) => deadLetterPage(em, { tenantId, limit: limit + 1, after: after as [string, string] | null });
    let rows = await page(await this.#uow.em(), this.#uow.tenantId);
    if (this.#alsoTenantless) {
      const more = await inTenant(this.#orm, null, async (uow) => page(await uow.em(), null));
      rows = [...rows, ...more].sort((a, b) => (a.cursor === b.cursor ? (a.letter.id < b.letter.id ? 1 : -1) : a.cursor < b.cursor ? 1 : -1)).slice(0, limit + 1);
    }
    const connection = toConnection(rows, limit, (r) => [r.cursor, r.letter.id], after !== null);
    return {
      ...connection,
      edges: connection.edges.map((e) => ({ cursor: e.cursor, node: e.node.letter })),
      nodes: connection.nodes.map((r) => r.letter),
    };
  }

  async deadLetter(id: string, tenantless: boolean): Promise<DeadLetter | null> {
    const one = async (em: EntityManager, tenantId: string | null) => (await deadLetterPage(em, { tenantId, limit: 1, id }))[0]?.letter ?? null;
    if (tenantless) return inTenant(this.#orm, null, async (uow) => one(await uow.em(), null));
    return one(await this.#uow.em(), this.#uow.tenantId);
  }

  /** Enqueues the letter again as a new job; event consumers still apply an event once. */
  async replay(input: { id: string; idempotencyKey: string }): Promise<ReplayResult> {
    const actor = this.#actor;
    requireOperator(actor);
    if (!isUuid(input.id)) throw notFound('Dead letter');
    const id = input.id.toLowerCase();
    return idempotentWrite(this.#uow, actor, 'replayDeadLetter', input, async (em) => {
      const replay = async (scope: EntityManager, tenantId: string | null) => {
        try {
          return await replayDeadLetter(scope, tenantId, id, this.#queues);
        } catch (err) {
          if (err instanceof AppError) throw err;
          throw unavailable();
        }
      };
      if (await replay(em, actor.tenantId)) return { deadLetterId: id, tenantless: actor.tenantId === null };
      if (this.#alsoTenantless && (await inTenant(this.#orm, null, (uow) => uow.write((tem) => replay(tem, null))))) {
        return { deadLetterId: id, tenantless: true };
      }
      throw notFound('Dead letter');
    });
  }
}
