// Accepting a heartbeat: one Lua script, atomic in Redis — claim the idempotency key
// (SET NX with the input's fingerprint) and append the beat to its learner's shard stream
// (XADD). Only then is the beat acknowledged: an acknowledged beat is in the stream, and
// the flusher (flusher.ts) removes it only after its effect has committed in PostgreSQL.
import type { Redis } from 'ioredis';
import { DEDUPE_TTL_SECONDS, learningKeys, shardOf, type LearningKeys } from './keys.ts';

/** 1: appended; 0: a replay of the same beat; -1: the key was used for a different beat. */
const ACCEPT_LUA = `
local prev = redis.call('GET', KEYS[1])
if prev then
  if prev == ARGV[1] then return 0 end
  return -1
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
return 1`;

/** One heartbeat as buffered (compact field names: a stream holds many). */
export interface Beat {
  tenantId: string;
  learnerId: string;
  enrollmentId: string;
  lessonId: string;
  deviceId: string;
  position: number;
  secondsWatched: number;
  /** Client time of the beat (ms since epoch): the position's last-writer-wins stamp. */
  clientTime: number;
  durationSeconds: number | null;
}

export function encodeBeat(b: Beat): string[] {
  return ['t', b.tenantId, 'u', b.learnerId, 'e', b.enrollmentId, 'l', b.lessonId, 'd', b.deviceId, 'p', String(b.position), 's', String(b.secondsWatched), 'c', String(b.clientTime), 'r', b.durationSeconds === null ? '' : String(b.durationSeconds)];
}

export function decodeBeat(fields: string[]): Beat | null {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  const num = (k: string) => Number(m.get(k));
  const b: Beat = {
    tenantId: m.get('t') ?? '',
    learnerId: m.get('u') ?? '',
    enrollmentId: m.get('e') ?? '',
    lessonId: m.get('l') ?? '',
    deviceId: m.get('d') ?? '',
    position: num('p'),
    secondsWatched: num('s'),
    clientTime: num('c'),
    durationSeconds: m.get('r') ? num('r') : null,
  };
  if (!b.tenantId || !b.enrollmentId || !b.lessonId || !Number.isFinite(b.position) || !Number.isFinite(b.secondsWatched) || !Number.isFinite(b.clientTime)) return null;
  return b;
}

type AcceptFn = (dedupeKey: string, stream: string, fingerprint: string, ttl: number, ...fields: string[]) => Promise<number>;
const defined = new WeakSet<Redis>();

export class HeartbeatBuffer {
  #redis: Redis;
  #keys: LearningKeys;
  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#keys = learningKeys(prefix);
    if (!defined.has(redis)) {
      redis.defineCommand('learningAcceptBeat', { numberOfKeys: 2, lua: ACCEPT_LUA });
      defined.add(redis);
    }
  }

  /** Appends `beat` unless `idempotencyKey` was seen: 'accepted' | 'duplicate' | 'reused'. */
  async accept(beat: Beat, idempotencyKey: string, fingerprint: string): Promise<'accepted' | 'duplicate' | 'reused'> {
    const shard = shardOf(beat.learnerId);
    const fn = (this.#redis as unknown as { learningAcceptBeat: AcceptFn }).learningAcceptBeat.bind(this.#redis);
    const r = await fn(this.#keys.dedupe(shard, beat.tenantId, beat.learnerId, idempotencyKey), this.#keys.stream(shard), fingerprint, DEDUPE_TTL_SECONDS, ...encodeBeat(beat));
    return r === 1 ? 'accepted' : r === 0 ? 'duplicate' : 'reused';
  }
}
