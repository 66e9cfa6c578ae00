// Producers route to learning only what it declares in @lectern/contracts: the declaration
// and the handlers must name the same events.
import { describe, expect, it } from 'vitest';
import { LEARNING } from '@lectern/contracts/learning';
import { subscriptions } from '@lectern/contracts/subscriptions';
import { projectionHandlers } from './projection.handlers.ts';

describe('learning subscriptions', () => {
  it('declares exactly the events it handles', () => {
    const handled = projectionHandlers({} as never).map((handler) => handler.event.type).sort();
    expect(subscriptions[LEARNING].map((event) => event.type).sort()).toEqual(handled);
  });
});
