// Test and benchmark helpers: events as the relay would deliver them, applied the way the
// kernel's consumer applies them (processed_events claim + handler, one transaction), and a
// bulk enrollment seed for load tests.
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { inTenant } from '@lectern/kernel';
import { createLogger } from '@lectern/kernel/logger';
import type { EventEnvelope } from '@lectern/kernel/events';
import { deliveredEnvelope } from '@lectern/kernel/outbox';
import { deliverEvent, type EventHandler } from '@lectern/kernel/consumers';
import { LEARNING } from '@lectern/contracts/learning';

export { HeartbeatFlusher, aggregate } from '../modules/heartbeat/flusher.ts';
export { HeartbeatBuffer } from '../modules/heartbeat/buffer.ts';
export { AccessCache } from '../modules/heartbeat/access-cache.ts';
export { HeartbeatService } from '../modules/heartbeat/heartbeat.service.ts';
export { learningKeys, SHARDS, FLUSH_GROUP, shardOf } from '../modules/heartbeat/keys.ts';
export { projectionHandlers } from '../modules/projection/projection.handlers.ts';
export { catalogClient } from '../modules/projection/catalog-client.ts';

/** An envelope of `def` as a relay delivers one (a fresh aggregate id unless given). */
export const envelope = deliveredEnvelope;

const quiet = createLogger('learning-test', 'silent');

/** Applies `event` as the kernel's consumer does: once per event id. Returns 'processed' or 'duplicate'. */
export const applyEvent = (orm: MikroORM, handlers: EventHandler[], event: EventEnvelope) => deliverEvent(orm, LEARNING, handlers, event, quiet);

/**
 * Many ACTIVE enrollments in one statement (load tests), in a course version learning
 * already knows (deliver one LearnerEnrolled for it first).
 */
export async function seedEnrollments(
  orm: MikroORM,
  args: { tenantId: string; courseId: string; courseVersionId: string; cohortId?: string; learnerIds: string[] },
): Promise<{ enrollmentId: string; learnerId: string }[]> {
  const rows = args.learnerIds.map((learnerId) => ({ id: randomUUID(), learner_id: learnerId }));
  await inTenant(orm, args.tenantId, async (uow) => {
    const em = await uow.em();
    await em.execute(
      `insert into enrollments (tenant_id, id, learner_id, offering_id, cohort_id, course_id, course_version_id, status)
       select ?, x.id, x.learner_id, ?, ?, ?, ?, 'ACTIVE' from jsonb_to_recordset(?::jsonb) as x(id uuid, learner_id uuid)`,
      [args.tenantId, randomUUID(), args.cohortId ?? randomUUID(), args.courseId, args.courseVersionId, JSON.stringify(rows)],
    );
  });
  return rows.map((r) => ({ enrollmentId: r.id, learnerId: r.learner_id }));
}
