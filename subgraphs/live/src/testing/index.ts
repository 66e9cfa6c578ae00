// Test and benchmark helpers: enrollment's roster events as the relay would deliver them,
// applied the way the kernel's consumer applies them (processed_events claim + handler, one
// transaction).
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { inTenant } from '@lectern/kernel';
import { createLogger } from '@lectern/kernel/logger';
import type { EventDefinition, EventEnvelope } from '@lectern/kernel/events';
import { eventEnvelope } from '@lectern/kernel/outbox';
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

/** Applies `event` to live's roster as the kernel's consumer does: once per event id. */
export async function applyRosterEvent(orm: MikroORM, event: EventEnvelope): Promise<'processed' | 'duplicate'> {
  const handler = rosterHandlers().find((h) => h.event.type === event.type);
  if (!handler) throw new Error(`no handler for ${event.type}`);
  const payload = handler.event.payload.parse(event.payload);
  return inTenant(orm, event.tenantId, (uow) =>
    uow.write(async (em) => {
      const claimed = await em.execute<{ event_id: string }[]>(
        `insert into processed_events (consumer, event_id, tenant_id) values (?, ?, ?) on conflict do nothing returning event_id`,
        [LIVE, event.id, event.tenantId],
      );
      if (claimed.length === 0) return 'duplicate' as const;
      await handler.handle({ em, uow, event: { ...event, payload }, log: quiet });
      return 'processed' as const;
    }),
  );
}
