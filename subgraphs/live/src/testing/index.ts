// Test and benchmark helpers: enrollment's roster events as the relay would deliver them,
// applied the way the kernel's consumer applies them (processed_events claim + handler, one
// transaction).
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { createLogger } from '@lectern/kernel/logger';
import type { EventDefinition, EventEnvelope } from '@lectern/kernel/events';
import { eventEnvelope } from '@lectern/kernel/outbox';
import { applyEvent } from '@lectern/kernel/consumers';
import { LIVE } from '@lectern/contracts/live';
import { rosterHandlers } from '../modules/roster/roster.handlers.ts';

export { rosterHandlers };
export { PresenceStore } from '../modules/presence/presence.store.ts';

/** An envelope of `def`, exactly as a producer's outbox would record it (the kernel's eventEnvelope). */
export function envelope<E extends EventDefinition>(
  def: E,
  args: { tenantId: string; payload: z.input<E['payload']>; aggregateId?: string; id?: string },
): EventEnvelope<z.infer<E['payload']>> {
  return eventEnvelope(def, { ...args, aggregateId: args.aggregateId ?? randomUUID() });
}

const quiet = createLogger('live-test', 'silent');

/** Applies `event` to live's roster as the kernel's consumer does (its applyEvent): once per event id. */
export function applyRosterEvent(orm: MikroORM, event: EventEnvelope): Promise<'processed' | 'duplicate'> {
  const handler = rosterHandlers().find((h) => h.event.type === event.type);
  if (!handler) throw new Error(`no handler for ${event.type}`);
  return applyEvent(orm, LIVE, handler, { ...event, payload: handler.event.payload.parse(event.payload) }, quiet);
}
