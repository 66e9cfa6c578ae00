// Producers route to enrollment only what it declares in @lectern/contracts: the declaration
// and the handlers must name the same events.
import { describe, expect, it } from 'vitest';
import { ENROLLMENT } from '@lectern/contracts/enrollment';
import { subscriptions } from '@lectern/contracts/subscriptions';
import { enrollmentWorker } from '../../worker.ts';

describe('enrollment subscriptions', () => {
  it('declares exactly the events its worker handles', () => {
    const handled = enrollmentWorker.handlers!({} as never, {} as never).map((handler) => handler.event.type).sort();
    expect(subscriptions[ENROLLMENT].map((event) => event.type).sort()).toEqual(handled);
  });
});
