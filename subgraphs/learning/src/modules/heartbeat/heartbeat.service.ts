// recordProgress: a player's heartbeat, accepted without SQL on the hot path. The caller is
// the signed actor; the lesson is checked against the learner's cached lesson access (one
// PostgreSQL read on a miss, never on a hit); the beat is deduplicated and buffered in Redis
// in one atomic script (buffer.ts); the flusher writes it to PostgreSQL within a second.
import { AppError, badInput, fingerprint, inputId, serviceUnavailable, type Actor, type UnitOfWork } from '@lectern/kernel';
import { requireLearner } from '../../access.ts';
import type { LearningError } from '../../errors.ts';
import type { CatalogClient } from '../projection/catalog-client.ts';
import type { AccessCache } from './access-cache.ts';
import { readAccess } from './heartbeat.store.ts';
import type { HeartbeatBuffer } from './buffer.ts';
import { refusals } from './refusal.ts';

export interface RecordProgressInput {
  lessonId: string;
  position: number;
  secondsWatched: number;
  clientTimestamp?: Date | string | null;
  deviceId: string;
  durationSeconds?: number | null;
  idempotencyKey: string;
}

export interface RecordProgressResult {
  accepted: boolean;
  duplicate: boolean;
  errors: LearningError[];
}

const KEY_PATTERN = /^[A-Za-z0-9._~-]{8,128}$/;
export const DEVICE_PATTERN = /^[A-Za-z0-9._:~-]{1,128}$/;
export const MAX_SECONDS = 86_400;
/** Heartbeats come every 30 to 60 s; a delta above this is a client bug, not viewing. */
export const MAX_BEAT_SECONDS = 600;

const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

export function parseClientTime(v: Date | string, field: string): number {
  const t = v instanceof Date ? v.getTime() : Date.parse(v);
  // Client clocks drift; a stamp more than a day ahead (or before 2000) is not a clock, it is garbage.
  if (!Number.isFinite(t) || t < 946_684_800_000 || t > Date.now() + 86_400_000) throw badInput(`${field} is not a plausible time`, field);
  return t;
}

export class HeartbeatService {
  #actor: Actor;
  #uow: UnitOfWork;
  #cache: AccessCache;
  #buffer: HeartbeatBuffer;
  #catalog: CatalogClient;
  constructor(deps: { actor: Actor; uow: UnitOfWork; cache: AccessCache; buffer: HeartbeatBuffer; catalog: CatalogClient }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#cache = deps.cache;
    this.#buffer = deps.buffer;
    this.#catalog = deps.catalog;
  }

  async record(input: RecordProgressInput): Promise<RecordProgressResult> {
    const actor = this.#actor;
    requireLearner(actor);
    if (!KEY_PATTERN.test(input.idempotencyKey)) throw badInput('idempotencyKey must be 8 to 128 characters of letters, digits, ".", "_", "~" or "-"', 'idempotencyKey');
    const lessonId = inputId(input.lessonId, 'Lesson', 'lessonId');
    if (!int(input.position, 0, MAX_SECONDS)) throw badInput(`position must be an integer from 0 to ${MAX_SECONDS}`, 'position');
    if (!int(input.secondsWatched, 0, MAX_BEAT_SECONDS)) throw badInput(`secondsWatched must be an integer from 0 to ${MAX_BEAT_SECONDS}`, 'secondsWatched');
    if (!DEVICE_PATTERN.test(input.deviceId)) throw badInput('deviceId must be 1 to 128 characters of letters, digits, ".", "_", ":", "~" or "-"', 'deviceId');
    const duration = input.durationSeconds ?? null;
    if (duration !== null && !int(duration, 1, MAX_SECONDS)) throw badInput(`durationSeconds must be an integer from 1 to ${MAX_SECONDS}`, 'durationSeconds');
    const clientTime = input.clientTimestamp == null ? Date.now() : parseClientTime(input.clientTimestamp, 'clientTimestamp');

    const enrollmentId = await this.#enrollmentFor(actor.tenantId, actor.userId, lessonId);
    if (!enrollmentId) {
      const errors = await refusals(await this.#uow.em(), this.#catalog, actor.tenantId, actor.userId, [{ lessonId, field: 'lessonId' }]);
      return { accepted: false, duplicate: false, errors };
    }

    const beat = {
      tenantId: actor.tenantId,
      learnerId: actor.userId,
      enrollmentId,
      lessonId,
      deviceId: input.deviceId,
      position: input.position,
      secondsWatched: input.secondsWatched,
      clientTime,
      durationSeconds: duration,
    };
    let outcome: Awaited<ReturnType<HeartbeatBuffer['accept']>>;
    try {
      outcome = await this.#buffer.accept(beat, input.idempotencyKey, fingerprint({ ...beat, enrollmentId: undefined }));
    } catch {
      // Redis is down (commands fail fast): not acknowledged, so not lost; the player retries with the same key.
      throw serviceUnavailable('The progress buffer', 5);
    }
    if (outcome === 'reused') {
      throw new AppError('BAD_USER_INPUT', 'This idempotencyKey was already used with different input; use a new key for a new request', {
        field: 'idempotencyKey',
        reason: 'IDEMPOTENCY_KEY_REUSED',
      });
    }
    return { accepted: true, duplicate: outcome === 'duplicate', errors: [] };
  }

  /** The enrollment holding the lesson: from the cache when it says yes, else from PostgreSQL (and cached). */
  async #enrollmentFor(tenantId: string, learnerId: string, lessonId: string): Promise<string | null> {
    const cached = await this.#cache.lookup(tenantId, learnerId, lessonId).catch(() => undefined);
    if (cached) return cached;
    const access = await readAccess(await this.#uow.em(), tenantId, learnerId);
    await this.#cache.fill(tenantId, learnerId, access).catch(() => {});
    let found: string | null = null;
    for (const a of access) if (a.lessonId === lessonId) found = a.enrollmentId;
    return found;
  }
}
