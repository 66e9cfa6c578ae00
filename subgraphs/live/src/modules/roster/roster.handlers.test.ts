// Producers route to live only what it declares in @lectern/contracts: the declaration and the
// handlers must name the same events.
import { describe, expect, it } from 'vitest';
import { LIVE } from '@lectern/contracts/live';
import { subscriptions } from '@lectern/contracts/subscriptions';
import { rosterHandlers } from './roster.handlers.ts';

describe('live subscriptions', () => {
  it('declares exactly the events it handles', () => {
    const handled = rosterHandlers().map((handler) => handler.event.type).sort();
    expect(subscriptions[LIVE].map((event) => event.type).sort()).toEqual(handled);
  });
});
