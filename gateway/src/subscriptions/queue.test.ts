import { describe, expect, it } from 'vitest';
import { SubscriberQueue } from './queue.ts';

const result = (n: number) => ({ data: { n } });

describe('SubscriberQueue', () => {
  it('hands results over in order, to a waiting reader at once', async () => {
    const q = new SubscriberQueue(10, () => {}, () => {});
    const waiting = q.next();
    q.push(result(1));
    q.push(result(2));
    expect(await waiting).toEqual({ value: result(1), done: false });
    expect(await q.next()).toEqual({ value: result(2), done: false });
  });

  it('drops the oldest past its capacity, counting each drop, so a slow reader skips ahead', async () => {
    let dropped = 0;
    const q = new SubscriberQueue(3, () => dropped++, () => {});
    for (let i = 1; i <= 1000; i++) q.push(result(i));
    expect(dropped).toBe(997);
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await q.next()).value);
    expect(got).toEqual([result(998), result(999), result(1000)]);
  });

  it('ends once: after what is queued when the producer ends it, at once when the reader returns', async () => {
    let ended = 0;
    const q = new SubscriberQueue(5, () => {}, () => ended++);
    q.push(result(1));
    q.end();
    q.end();
    expect(ended).toBe(1);
    expect(q.push(result(2))).toBe(false);
    expect(await q.next()).toEqual({ value: result(1), done: false });
    expect((await q.next()).done).toBe(true);

    const r = new SubscriberQueue(5, () => {}, () => ended++);
    const pending = r.next();
    await r.return();
    expect((await pending).done).toBe(true);
    expect(ended).toBe(2);
  });
});
