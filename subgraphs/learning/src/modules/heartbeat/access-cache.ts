// Which lessons a learner may record progress on, cached in Redis so the heartbeat path
// runs no SQL: a hash per (organization, learner) of lessonId → enrollmentId, with a
// sentinel field marking a complete entry. Built from PostgreSQL on a miss (one read,
// heartbeat.store.ts readAccess);
// projection consumers invalidate it when an enrollment changes. A negative answer is never
// trusted from the cache alone (it is re-read from PostgreSQL), so a stale entry can only
// err towards accepting a beat for an enrollment dropped within the last moments.
import type { Redis } from 'ioredis';
import { ACCESS_TTL_SECONDS, learningKeys, type LearningKeys } from './keys.ts';
import type { LessonAccess } from './heartbeat.store.ts';

const SENTINEL = '_';

export class AccessCache {
  #redis: Redis;
  #keys: LearningKeys;
  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#keys = learningKeys(prefix);
  }

  /** The enrollment for the lesson; null when the cache says "not enrolled"; undefined on a miss. */
  async lookup(tenantId: string, learnerId: string, lessonId: string): Promise<string | null | undefined> {
    const [hit, complete] = await this.#redis.hmget(this.#keys.access(tenantId, learnerId), lessonId, SENTINEL);
    if (hit) return hit;
    return complete ? null : undefined;
  }

  async fill(tenantId: string, learnerId: string, access: LessonAccess[]): Promise<void> {
    const key = this.#keys.access(tenantId, learnerId);
    const fields: string[] = [SENTINEL, '1'];
    for (const a of access) fields.push(a.lessonId, a.enrollmentId);
    await this.#redis.multi().del(key).hset(key, ...fields).expire(key, ACCESS_TTL_SECONDS).exec();
  }

  async invalidate(tenantId: string, learnerId: string): Promise<void> {
    await this.#redis.del(this.#keys.access(tenantId, learnerId));
  }
}
