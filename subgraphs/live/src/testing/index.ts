// Test and benchmark helpers: enrollment's roster events as the relay would deliver them,
// applied the way the kernel's consumer applies them (processed_events claim + handler, one
// transaction).
import type { MikroORM } from '@mikro-orm/postgresql';
import { createLogger } from '@lectern/kernel/logger';
import type { EventEnvelope } from '@lectern/kernel/events';
import { deliveredEnvelope } from '@lectern/kernel/outbox';
import { deliverEvent } from '@lectern/kernel/consumers';
import { LIVE } from '@lectern/contracts/live';
import { rosterHandlers } from '../modules/roster/roster.handlers.ts';

export { rosterHandlers };
export { PresenceStore } from '../modules/presence/presence.store.ts';

/** An envelope of `def` as a relay delivers one (a fresh aggregate id unless given). */
export const envelope = deliveredEnvelope;

const quiet = createLogger('live-test', 'silent');

/** Applies `event` to live's roster as the kernel's consumer does: once per event id. */
export const applyRosterEvent = (orm: MikroORM, event: EventEnvelope) => deliverEvent(orm, LIVE, rosterHandlers(), event, quiet);
