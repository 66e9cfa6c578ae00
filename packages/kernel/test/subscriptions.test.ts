// The pieces of subscriptions.ts that need no Redis: a stream's bounded queue and laziness,
// and what a subscription field answers (the host and Redis: subscriptions.int.test.ts).
import { describe, expect, it } from 'vitest';
import type { Actor } from '../src/actor.ts';
import { ChannelStream, QUEUE_LIMIT, subscriptionField, type ChannelHub } from '../src/subscriptions.ts';
import type { UnitOfWork } from '../src/uow.ts';

/** A hub that only records what streams ask of it. */
const fakeHub = () => {
  const calls: string[] = [];
  const hub = { add: async () => void calls.push('add'), remove: async () => void calls.push('remove') } as unknown as ChannelHub;
  return { hub, calls };
};

describe('ChannelStream', () => {
  it('subscribes on the first next() only, and unsubscribes on return(), which ends a pending next()', async () => {
    const { hub, calls } = fakeHub();
    const stream = new ChannelStream({ channel: 'c' }, 't', hub);
    expect(calls).toEqual([]);
    const pending = stream.next();
    await stream.open();
    expect(calls).toEqual(['add']);
    stream.push({ n: 1 });
    expect(await pending).toEqual({ value: { n: 1 }, done: false });
    const waiting = stream.next();
    await stream.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(calls).toEqual(['add', 'remove']);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('never subscribes when returned before any next() (the admit route)', async () => {
    const { hub, calls } = fakeHub();
    await new ChannelStream({ channel: 'c' }, 't', hub).return();
    expect(calls).toEqual([]);
  });

  it(`keeps at most ${QUEUE_LIMIT} waiting events, dropping the oldest`, async () => {
    const { hub } = fakeHub();
    const stream = new ChannelStream({ channel: 'c' }, 't', hub);
    await stream.open();
    const kept = Array.from({ length: QUEUE_LIMIT + 2 }, (_, i) => stream.push(i));
    expect(kept.filter((k) => !k)).toHaveLength(2);
    expect(await stream.next()).toEqual({ value: 2, done: false });
  });
});

describe('subscriptionField', () => {
  const ctx = (tenantId: string | null) => ({ actor: { tenantId } as Actor, uow: { tenantId } as UnitOfWork });

  it('answers a stream over the admitted channel of the actor’s tenant', async () => {
    const field = subscriptionField({ admit: async (args: { id: string }) => ({ channel: `x:${args.id}` }) });
    const stream = (await field.subscribe(null, { id: '1' }, ctx('t1'))) as ChannelStream;
    expect(stream).toBeInstanceOf(ChannelStream);
    expect([stream.channel, stream.tenantId]).toEqual(['x:1', 't1']);
  });

  it('refuses an actor without a tenant', async () => {
    const field = subscriptionField({ admit: async () => ({ channel: 'x' }) });
    await expect(field.subscribe(null, {}, ctx(null))).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  it('resolves to the payload by default, and skips an event its resolve answers null for', async () => {
    const plain = subscriptionField({ admit: async () => ({ channel: 'x' }) });
    expect(await plain.resolve({ a: 1 }, {}, ctx('t'))).toEqual({ a: 1 });
    const picky = subscriptionField<ReturnType<typeof ctx>, object, { ok: boolean }>({ admit: async () => ({ channel: 'x' }), resolve: (p) => (p.ok ? p : null) });
    await expect(picky.resolve({ ok: false }, {}, ctx('t'))).rejects.toThrow('event skipped');
  });
});
