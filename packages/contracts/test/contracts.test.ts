// The published contracts as a whole: each event type belongs to one context and is defined
// once, and the relays' routes say exactly what the consumers declared.
import { describe, expect, it } from 'vitest';
import type { EventDefinition } from '@lectern/kernel/events';
import * as assessment from '../src/assessment.ts';
import * as catalog from '../src/catalog.ts';
import * as certification from '../src/certification.ts';
import * as enrollment from '../src/enrollment.ts';
import * as identity from '../src/identity.ts';
import * as learning from '../src/learning.ts';
import * as live from '../src/live.ts';
import * as notifications from '../src/notifications.ts';
import { routes, subscriptions } from '../src/subscriptions.ts';

const contexts = { assessment, catalog, certification, enrollment, identity, learning, live, notifications };
const isEvent = (v: unknown): v is EventDefinition => typeof v === 'object' && v !== null && 'type' in v && 'aggregate' in v && 'payload' in v;
const published = Object.entries(contexts).flatMap(([context, module]) => Object.values(module).filter(isEvent).map((event) => ({ context, event })));

describe('contracts', () => {
  it("names every event after the context that publishes it, and defines each type once", () => {
    expect(published.length).toBeGreaterThan(0);
    for (const { context, event } of published) expect(event.type.startsWith(`${context}.`), event.type).toBe(true);
    const types = published.map(({ event }) => event.type);
    expect(new Set(types).size).toBe(types.length);
  });

  it('subscribes consumers only to published events', () => {
    const definitions = new Set(published.map(({ event }) => event));
    for (const events of Object.values(subscriptions)) for (const event of events) expect(definitions.has(event), event.type).toBe(true);
  });

  it('routes each event to exactly the contexts that subscribe to it', () => {
    const expected: Record<string, string[]> = {};
    for (const { event } of published) {
      const to = Object.entries(subscriptions).filter(([, events]) => (events as readonly EventDefinition[]).includes(event)).map(([consumer]) => consumer);
      if (to.length) expected[event.type] = to;
    }
    expect(routes).toEqual(expected);
  });
});
