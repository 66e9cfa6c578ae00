// syncProgress: a device's offline progress, merged into PostgreSQL in one short
// transaction through the same write path as heartbeats (progress.store.ts), so both merge
// into one state: coverage is a union, position last-writer-wins by (positionAt, deviceId),
// a device's watched time is a max of its cumulative counts (the total sums devices),
// completion never regresses. Every merge is commutative, associative and idempotent: any
// order of devices' syncs ends in the same state and a replay changes nothing (it also
// returns the stored result: the mutation is idempotent by key).
import { badInput, idempotent, inputId, type Actor, type UnitOfWork } from '@lectern/kernel';
import { requireLearner } from '../../access.ts';
import type { LearningError } from '../../errors.ts';
import type { LearningLoaders } from '../../loaders.ts';
import { readAccess } from '../heartbeat/heartbeat.store.ts';
import { refusals } from '../heartbeat/refusal.ts';
import type { CatalogClient } from '../projection/catalog-client.ts';
import { DEVICE_PATTERN, MAX_SECONDS, parseClientTime } from '../heartbeat/heartbeat.service.ts';
import { applyProgress, normaliseRanges, type DeviceFactsInput, type LessonFactsInput } from './progress.store.ts';

export interface SyncItemInput {
  lessonId: string;
  position: number;
  positionAt: Date | string;
  watchedRanges: number[][];
  watchedSeconds: number;
  opened: boolean;
  durationSeconds?: number | null;
}

export interface SyncProgressInput {
  deviceId: string;
  items: SyncItemInput[];
  idempotencyKey: string;
}

/** Stored as the idempotent result: plain ids only; the payload loads what the server holds. */
export interface SyncResult {
  lessons: { enrollmentId: string; lessonId: string }[];
  enrollmentIds: string[];
  errors: LearningError[];
}

/** What the transaction stores: the refused items are classified after commit (that may ask catalog). */
interface StoredSync {
  lessons: SyncResult['lessons'];
  enrollmentIds: string[];
  refused: { lessonId: string; field: string }[];
}

const MAX_ITEMS = 500;
const MAX_RANGES = 1000;
const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

export class SyncService {
  #actor: Actor;
  #uow: UnitOfWork;
  #loaders: LearningLoaders;
  #catalog: CatalogClient;
  constructor(deps: { actor: Actor; uow: UnitOfWork; loaders: LearningLoaders; catalog: CatalogClient }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#loaders = deps.loaders;
    this.#catalog = deps.catalog;
  }

  async sync(input: SyncProgressInput): Promise<SyncResult> {
    const actor = this.#actor;
    requireLearner(actor);
    if (!DEVICE_PATTERN.test(input.deviceId)) throw badInput('deviceId must be 1 to 128 characters of letters, digits, ".", "_", ":", "~" or "-"', 'deviceId');
    if (input.items.length > MAX_ITEMS) throw badInput(`at most ${MAX_ITEMS} items per sync`, 'items');
    const items = input.items.map((item, i) => validateItem(item, `items.${i}`));
    const result = await this.#uow.write((em) =>
      idempotent<StoredSync>(em, { tenantId: actor.tenantId, scope: `syncProgress:${actor.userId}`, key: input.idempotencyKey, input }, async () => {
        const access = new Map<string, string>();
        for (const a of await readAccess(em, actor.tenantId, actor.userId)) access.set(a.lessonId, a.enrollmentId);
        const refused: { lessonId: string; field: string }[] = [];
        const lessons = new Map<string, LessonFactsInput>();
        const devices = new Map<string, DeviceFactsInput>();
        items.forEach((item, i) => {
          const enrollmentId = access.get(item.lessonId);
          if (!enrollmentId) {
            refused.push({ lessonId: item.lessonId, field: `items.${i}.lessonId` });
            return;
          }
          const key = `${enrollmentId}|${item.lessonId}`;
          const prev = lessons.get(key);
          // Several items for one lesson in one batch merge like separate syncs would.
          const later = !prev || (prev.positionAt ?? '') < item.positionAt;
          lessons.set(key, {
            enrollmentId,
            lessonId: item.lessonId,
            position: later ? item.position : prev.position,
            positionAt: later ? item.positionAt : prev.positionAt,
            positionDevice: input.deviceId,
            ranges: normaliseRanges([...(prev?.ranges ?? []), ...item.ranges]),
            opened: (prev?.opened ?? false) || item.opened,
            quizPassed: false,
            reportedDuration: Math.max(prev?.reportedDuration ?? 0, item.durationSeconds ?? 0) || null,
          });
          const d = devices.get(key);
          devices.set(key, {
            enrollmentId,
            lessonId: item.lessonId,
            deviceId: input.deviceId,
            beats: [],
            syncSeconds: Math.max(d?.syncSeconds ?? 0, item.watchedSeconds),
          });
        });
        const facts = [...lessons.values()];
        await applyProgress(em, actor.tenantId, facts, [...devices.values()]);
        return {
          lessons: facts.map((f) => ({ enrollmentId: f.enrollmentId, lessonId: f.lessonId })),
          enrollmentIds: [...new Set(facts.map((f) => f.enrollmentId))],
          refused,
        };
      }),
    );
    // Why each refused item was refused, outside the transaction (a catalog call must not hold it open).
    const errors = await refusals(await this.#uow.em(), this.#catalog, actor.tenantId, actor.userId, result.refused);
    // The payload shows the state this sync left.
    this.#loaders.clearAll();
    return { lessons: result.lessons, enrollmentIds: result.enrollmentIds, errors };
  }
}

interface ValidItem {
  lessonId: string;
  position: number;
  positionAt: string;
  ranges: [number, number][];
  watchedSeconds: number;
  opened: boolean;
  durationSeconds: number | null;
}

function validateItem(item: SyncItemInput, field: string): ValidItem {
  const lessonId = inputId(item.lessonId, 'Lesson', `${field}.lessonId`);
  if (!int(item.position, 0, MAX_SECONDS)) throw badInput(`${field}.position must be an integer from 0 to ${MAX_SECONDS}`, `${field}.position`);
  if (!int(item.watchedSeconds, 0, 100 * MAX_SECONDS)) throw badInput(`${field}.watchedSeconds must be a non-negative integer`, `${field}.watchedSeconds`);
  const duration = item.durationSeconds ?? null;
  if (duration !== null && !int(duration, 1, MAX_SECONDS)) throw badInput(`${field}.durationSeconds must be an integer from 1 to ${MAX_SECONDS}`, `${field}.durationSeconds`);
  if (item.watchedRanges.length > MAX_RANGES) throw badInput(`${field}.watchedRanges: at most ${MAX_RANGES} ranges`, `${field}.watchedRanges`);
  const ranges = item.watchedRanges.map((r, j) => {
    const [from, to] = r;
    if (r.length !== 2 || !int(from, 0, MAX_SECONDS) || !int(to, 0, MAX_SECONDS) || from! > to!) {
      throw badInput(`${field}.watchedRanges.${j} must be [from, to] with 0 <= from <= to <= ${MAX_SECONDS}`, `${field}.watchedRanges`);
    }
    return [from, to] as [number, number];
  });
  const positionAt = new Date(parseClientTime(item.positionAt, `${field}.positionAt`)).toISOString();
  return { lessonId, position: item.position, positionAt, ranges, watchedSeconds: item.watchedSeconds, opened: item.opened, durationSeconds: duration };
}
